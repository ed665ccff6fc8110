package io.wrnstream.model.progress;

import java.io.PrintStream;
import java.util.Locale;

/**
 * Progress of long work on stderr: a redrawn bar when stderr is a terminal, else a plain line every few seconds,
 * each with items/s and ETA, plus whatever extra the caller reports (loss, lr, ...).
 *
 * <pre>{@code
 * Progress p = new Progress("train", total, "img");
 * p.update(done, "loss 1.23");
 * p.finish("done");
 * }</pre>
 */
public final class Progress {
    private static final long PLAIN_INTERVAL_NANOS = 5_000_000_000L;
    private static final long BAR_INTERVAL_NANOS = 200_000_000L;

    private final String label;
    private final long total;
    private final String unit;
    private final PrintStream out;
    private final boolean terminal;
    private final long start = System.nanoTime();
    private long lastPrint = Long.MIN_VALUE / 2;

    /** @param total total units, or {@code <= 0} when unknown (no ETA, no bar) */
    public Progress(String label, long total, String unit) {
        this(label, total, unit, System.err, attachedToTerminal());
    }

    /** Progress on {@code out}, as a redrawn bar when {@code terminal}, else plain lines every few seconds. */
    public Progress(String label, long total, String unit, PrintStream out, boolean terminal) {
        this.label = label;
        this.total = total;
        this.unit = unit;
        this.out = out;
        this.terminal = terminal;
    }

    /** Reports {@code done} units finished; prints only when enough time has passed since the last line. */
    public void update(long done, String extra) {
        long now = System.nanoTime();
        if (now - lastPrint < (terminal ? BAR_INTERVAL_NANOS : PLAIN_INTERVAL_NANOS)) return;
        lastPrint = now;
        String line = line(done, now, extra);
        if (terminal) {
            out.print("\r" + line + "\u001b[K");
        } else {
            out.println(line);
        }
        out.flush();
    }

    /** Prints the final line (always). */
    public void finish(long done, String extra) {
        String line = line(done, System.nanoTime(), extra);
        if (terminal) out.print("\r" + line + "\u001b[K\n");
        else out.println(line);
        out.flush();
    }

    /** Whether the process looks attached to a terminal (Java cannot ask about stderr alone). */
    public static boolean attachedToTerminal() {
        return System.console() != null && !"dumb".equals(System.getenv("TERM"));
    }

    /** Seconds since this progress started. */
    public double elapsedSeconds() {
        return (System.nanoTime() - start) / 1e9;
    }

    String line(long done, long now, String extra) {
        double secs = Math.max(1e-9, (now - start) / 1e9);
        double rate = done / secs;
        StringBuilder sb = new StringBuilder(label).append(' ');
        if (total > 0) {
            double frac = Math.min(1.0, (double) done / total);
            int width = 24, filled = (int) Math.round(frac * width);
            sb.append('[').append("#".repeat(filled)).append(".".repeat(width - filled)).append("] ");
            sb.append(String.format(Locale.ROOT, "%3.0f%% %d/%d %s", frac * 100, done, total, unit));
        } else {
            sb.append(done).append(' ').append(unit);
        }
        sb.append(String.format(Locale.ROOT, " | %.1f %s/s | %s elapsed", rate, unit, clock(secs)));
        if (total > 0 && done > 0 && done < total) sb.append(" | ETA ").append(clock((total - done) / rate));
        if (extra != null && !extra.isEmpty()) sb.append(" | ").append(extra);
        return sb.toString();
    }

    /** Formats seconds as {@code h:mm:ss} or {@code m:ss}. */
    public static String clock(double seconds) {
        long s = Math.max(0, Math.round(seconds));
        return s >= 3600 ? String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, (s / 60) % 60, s % 60)
                : String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60);
    }
}
