package io.wrnstream.cli.report;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Evaluation lines like the job and the offline train command write. */
final class Curves {
    private Curves() {}

    /** {@code n} job result lines: error falling from 0.9 towards 0.2 with a bump, loss falling from 2.3. */
    static List<String> jobLines(int n) {
        List<String> out = new ArrayList<>();
        for (int i = 1; i <= n; i++) {
            double err = 0.2 + 0.7 * Math.exp(-i / (n / 4.0)) + (i == n / 2 ? 0.05 : 0);
            double loss = 0.6 + 1.7 * Math.exp(-i / (n / 3.0));
            out.add(String.format(Locale.ROOT, "{\"step\":%d,\"images_seen\":%d,\"epochs\":%.4f,\"test_error\":%.6f,\"test_loss\":%.6f,"
                    + "\"images\":500,\"model_version\":%d,\"wall_ms\":%d,\"eval_ms\":120}", i * 16, i * 2048, i * 2048 / 50000.0, err, loss, i,
                    1_700_000_000_000L + i * 60_000L));
        }
        return out;
    }
}
