package io.wrnstream.jobs.ingest;

import java.io.PrintStream;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * Progress of a run on stderr: a redrawn bar (records/s, MB/s, ETA) when attached to a terminal, otherwise one plain
 * line every {@value #PLAIN_INTERVAL_S} s so that logs stay readable.
 */
final class Progress {

    static final int PLAIN_INTERVAL_S = 5;
    private static final long BAR_INTERVAL_NS = TimeUnit.MILLISECONDS.toNanos(200);

    private final PrintStream err;
    private final boolean terminal;
    private final long total;
    private final long start = System.nanoTime();
    private long lastPrint = start;
    private boolean drewBar;

    Progress(PrintStream err, boolean terminal, long total) {
        this.err = err;
        this.terminal = terminal;
        this.total = total;
    }

    /** Whether the process looks attached to a terminal (Java cannot ask about stderr alone). */
    static boolean attachedToTerminal() {
        return System.console() != null && !"dumb".equals(System.getenv("TERM"));
    }

    /** Called after each send; prints when the interval has passed. */
    void update(long records, long bytes) {
        long now = System.nanoTime();
        long interval = terminal ? BAR_INTERVAL_NS : TimeUnit.SECONDS.toNanos(PLAIN_INTERVAL_S);
        if (now - lastPrint < interval) return;
        lastPrint = now;
        double s = (now - start) / 1e9;
        double rps = records / s;
        String eta = rps > 0 ? formatSeconds((total - records) / rps) : "?";
        String stats = String.format(Locale.ROOT, "%,d/%,d records  %,.0f rec/s  %.1f MB/s  ETA %s",
                records, total, rps, bytes / 1e6 / s, eta);
        if (terminal) {
            int width = 30;
            int filled = (int) (width * records / Math.max(1, total));
            err.print("\r[" + "#".repeat(filled) + " ".repeat(width - filled) + "] " + stats + "   ");
            drewBar = true;
        } else {
            err.println("ingest: " + stats);
        }
        err.flush();
    }

    /** Ends the bar's line, if one was drawn. */
    void finish() {
        if (drewBar) err.println();
    }

    private static String formatSeconds(double s) {
        long t = Math.round(s);
        return t >= 3600 ? String.format(Locale.ROOT, "%dh%02dm", t / 3600, t / 60 % 60)
                : String.format(Locale.ROOT, "%dm%02ds", t / 60, t % 60);
    }
}
