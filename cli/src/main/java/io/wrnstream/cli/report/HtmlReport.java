package io.wrnstream.cli.report;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Renders a {@link LearningCurve} as one self-contained HTML page (inline CSS and SVG, no scripts, fonts or images from
 * elsewhere), in the manner of the WRN paper's figures: test error (%, solid, left axis) and test loss (dashed, right
 * axis) against training images seen, with ticks, labels, a legend and the best error marked; then the final numbers,
 * the configuration and every evaluation in a table.
 *
 * <p>The SVG is well-formed XML with stable ids ({@code learning-curve}, {@code plot-area}, {@code test-error},
 * {@code test-loss}), so tests and tools can read it back.
 */
public final class HtmlReport {
    /** SVG size and plot area, in SVG units. */
    static final int WIDTH = 960, HEIGHT = 480, LEFT = 80, RIGHT = 80, TOP = 40, BOTTOM = 70;
    static final int PLOT_W = WIDTH - LEFT - RIGHT, PLOT_H = HEIGHT - TOP - BOTTOM;
    /** Stroke colours of the two curves. */
    static final String ERROR_COLOUR = "#1f4e9c", LOSS_COLOUR = "#c0392b";

    private HtmlReport() {}

    /**
     * The page.
     *
     * @param title page title
     * @param config configuration text to show, or null
     * @throws IllegalArgumentException when the curve has no evaluation
     */
    public static String render(LearningCurve curve, String title, String config) {
        if (curve.points().isEmpty()) {
            throw new IllegalArgumentException("No evaluations to report: the input has no line with step, images_seen and test_error"
                    + (curve.skipped() > 0 ? " (" + curve.skipped() + " other lines skipped)" : ""));
        }
        StringBuilder h = new StringBuilder(16_384);
        h.append(head(title)).append("<h1>").append(esc(title)).append("</h1>\n");
        List<EvalPoint> pts = curve.points();
        EvalPoint last = curve.last();
        EvalPoint best = curve.best();
        h.append("<p class=\"sub\">").append(pts.size()).append(" evaluations, ").append(fmtCount(last.imagesSeen())).append(" training images")
                .append(Double.isFinite(last.epochs()) ? String.format(Locale.ROOT, " (%.2f epochs)", last.epochs()) : "").append("</p>\n");
        h.append("<figure>\n").append(svg(pts, best)).append("<figcaption>Test error (solid, left axis) and test loss (dashed, right axis) "
                + "against training images seen. The circle marks the best test error.</figcaption>\n</figure>\n");

        h.append("<h2>Final numbers</h2>\n<table id=\"numbers\">\n");
        row(h, "Best test error", pct(best.testError()) + " at step " + best.step() + " (" + fmtCount(best.imagesSeen()) + " images"
                + (Double.isFinite(best.epochs()) ? String.format(Locale.ROOT, ", epoch %.2f", best.epochs()) : "") + ")");
        row(h, "Final test error", pct(last.testError()) + " at step " + last.step());
        row(h, "Final test loss", Double.isFinite(last.testLoss()) ? String.format(Locale.ROOT, "%.4f", last.testLoss()) : "n/a");
        row(h, "Training images seen", fmtCount(last.imagesSeen()) + (Double.isFinite(last.epochs())
                ? String.format(Locale.ROOT, " (%.2f epochs)", last.epochs()) : ""));
        row(h, "Steps", String.valueOf(last.step()));
        row(h, "Evaluations", String.valueOf(pts.size()));
        if (last.images() > 0) row(h, "Held-out images per evaluation", String.valueOf(last.images()));
        if (pts.get(0).wallMs() > 0 && last.wallMs() > 0) {
            Duration d = Duration.ofMillis(last.wallMs() - pts.get(0).wallMs());
            row(h, "Wall-clock span of the evaluated models", String.format(Locale.ROOT, "%dh %02dm %02ds", d.toHours(), d.toMinutesPart(),
                    d.toSecondsPart()) + " (" + Instant.ofEpochMilli(pts.get(0).wallMs()) + " to " + Instant.ofEpochMilli(last.wallMs()) + ")");
        }
        h.append("</table>\n");

        h.append("<h2>Configuration</h2>\n");
        h.append(config == null || config.isBlank() ? "<p>Not given (pass --config, or put a {\"config\": ...} line in the stream).</p>\n"
                : "<pre id=\"config\">" + esc(config.strip()) + "</pre>\n");

        h.append("<h2>Evaluations</h2>\n<table id=\"evaluations\">\n<tr><th>step</th><th>images seen</th><th>epochs</th><th>test error</th>"
                + "<th>test loss</th><th>model version</th></tr>\n");
        for (EvalPoint p : pts) {
            h.append("<tr><td>").append(p.step()).append("</td><td>").append(p.imagesSeen()).append("</td><td>")
                    .append(Double.isFinite(p.epochs()) ? String.format(Locale.ROOT, "%.3f", p.epochs()) : "").append("</td><td>")
                    .append(pct(p.testError())).append("</td><td>")
                    .append(Double.isFinite(p.testLoss()) ? String.format(Locale.ROOT, "%.4f", p.testLoss()) : "").append("</td><td>")
                    .append(p.modelVersion() >= 0 ? String.valueOf(p.modelVersion()) : "").append("</td></tr>\n");
        }
        h.append("</table>\n");
        if (curve.skipped() > 0) h.append("<p class=\"sub\">").append(curve.skipped()).append(" input lines were not evaluations and were skipped.</p>\n");
        h.append("</body>\n</html>\n");
        return h.toString();
    }

    /** The page's start up to {@code <body>}: title and the inline style every report shares. */
    static String head(String title) {
        return "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" + esc(title) + "</title>\n"
                + "<style>\n"
                + "body{font-family:'Times New Roman',Times,serif;color:#111;background:#fff;margin:24px auto;max-width:1000px}\n"
                + "h1{font-size:22px;font-weight:normal;margin:0 0 4px}h2{font-size:17px;font-weight:normal;border-bottom:1px solid #999;margin-top:28px}\n"
                + "p.sub{color:#555;margin:0 0 12px}figure{margin:0}figcaption{font-size:14px;color:#333;margin-top:4px}\n"
                + "table{border-collapse:collapse;font-size:14px}td,th{padding:3px 12px;border-bottom:1px solid #ddd;text-align:right}\n"
                + "th{font-weight:bold}td:first-child,th:first-child{text-align:left}\n"
                + "pre{background:#f6f6f6;border:1px solid #ddd;padding:8px;font-size:12px;overflow:auto}\n"
                + "p.banner{border:2px solid #b7950b;background:#fdf6d8;padding:8px 12px;font-size:15px}\n"
                + "</style>\n</head>\n<body>\n";
    }

    /** The learning-curve SVG (well-formed XML). */
    static String svg(List<EvalPoint> pts, EvalPoint best) {
        long maxImages = 0;
        double maxErr = 0, maxLoss = 0;
        boolean anyLoss = false;
        for (EvalPoint p : pts) {
            maxImages = Math.max(maxImages, p.imagesSeen());
            maxErr = Math.max(maxErr, p.testError());
            if (Double.isFinite(p.testLoss())) {
                maxLoss = Math.max(maxLoss, p.testLoss());
                anyLoss = true;
            }
        }
        Axis x = Axis.of(Math.max(1, maxImages));
        Axis err = Axis.of(Math.min(100, Math.max(1, maxErr * 100)));
        Axis loss = Axis.of(anyLoss ? Math.max(0.1, maxLoss) : 1);

        StringBuilder s = new StringBuilder(8192);
        s.append("<svg id=\"learning-curve\" xmlns=\"http://www.w3.org/2000/svg\" width=\"").append(WIDTH).append("\" height=\"").append(HEIGHT)
                .append("\" viewBox=\"0 0 ").append(WIDTH).append(' ').append(HEIGHT)
                .append("\" font-family=\"Times New Roman, Times, serif\" font-size=\"14\">\n");
        s.append("<rect x=\"0\" y=\"0\" width=\"").append(WIDTH).append("\" height=\"").append(HEIGHT).append("\" fill=\"#ffffff\"/>\n");
        // Grid and ticks.
        s.append("<g id=\"grid\" stroke=\"#d8d8d8\" stroke-width=\"1\" stroke-dasharray=\"2,3\">\n");
        for (double t : x.ticks()) s.append(gridLine(px(t, x), TOP, px(t, x), TOP + PLOT_H));
        for (double t : err.ticks()) s.append(gridLine(LEFT, py(t, err), LEFT + PLOT_W, py(t, err)));
        s.append("</g>\n");
        s.append("<rect id=\"plot-area\" x=\"").append(LEFT).append("\" y=\"").append(TOP).append("\" width=\"").append(PLOT_W)
                .append("\" height=\"").append(PLOT_H).append("\" fill=\"none\" stroke=\"#000000\" stroke-width=\"1\"/>\n");
        s.append("<g id=\"x-axis\" text-anchor=\"middle\">\n");
        for (double t : x.ticks()) {
            s.append(line(px(t, x), TOP + PLOT_H, px(t, x), TOP + PLOT_H + 5));
            s.append(text(px(t, x), TOP + PLOT_H + 20, fmtCount((long) t), "tick"));
        }
        s.append(text(LEFT + PLOT_W / 2.0, HEIGHT - 18, "training images seen", "label"));
        s.append("</g>\n<g id=\"y-axis-error\" text-anchor=\"end\">\n");
        for (double t : err.ticks()) {
            s.append(line(LEFT - 5, py(t, err), LEFT, py(t, err)));
            s.append(text(LEFT - 8, py(t, err) + 5, trim(t), "tick"));
        }
        s.append("<text class=\"label\" text-anchor=\"middle\" transform=\"translate(24,").append(f(TOP + PLOT_H / 2.0))
                .append(") rotate(-90)\" fill=\"").append(ERROR_COLOUR).append("\">test error (%)</text>\n");
        s.append("</g>\n<g id=\"y-axis-loss\" text-anchor=\"start\">\n");
        for (double t : loss.ticks()) {
            s.append(line(LEFT + PLOT_W, py(t, loss), LEFT + PLOT_W + 5, py(t, loss)));
            s.append(text(LEFT + PLOT_W + 8, py(t, loss) + 5, trim(t), "tick"));
        }
        s.append("<text class=\"label\" text-anchor=\"middle\" transform=\"translate(").append(WIDTH - 22).append(',').append(f(TOP + PLOT_H / 2.0))
                .append(") rotate(90)\" fill=\"").append(LOSS_COLOUR).append("\">test loss (cross-entropy)</text>\n");
        s.append("</g>\n");
        // Curves.
        List<String> errPts = new ArrayList<>();
        List<String> lossPts = new ArrayList<>();
        for (EvalPoint p : pts) {
            errPts.add(f(px(p.imagesSeen(), x)) + "," + f(py(p.testError() * 100, err)));
            if (Double.isFinite(p.testLoss())) lossPts.add(f(px(p.imagesSeen(), x)) + "," + f(py(p.testLoss(), loss)));
        }
        s.append("<polyline id=\"test-loss\" class=\"curve\" fill=\"none\" stroke=\"").append(LOSS_COLOUR)
                .append("\" stroke-width=\"1.6\" stroke-dasharray=\"7,4\" points=\"").append(String.join(" ", lossPts)).append("\"/>\n");
        s.append("<polyline id=\"test-error\" class=\"curve\" fill=\"none\" stroke=\"").append(ERROR_COLOUR)
                .append("\" stroke-width=\"2.2\" points=\"").append(String.join(" ", errPts)).append("\"/>\n");
        if (pts.size() <= 200) {
            s.append("<g id=\"error-markers\" fill=\"").append(ERROR_COLOUR).append("\">\n");
            for (EvalPoint p : pts) {
                s.append("<circle cx=\"").append(f(px(p.imagesSeen(), x))).append("\" cy=\"").append(f(py(p.testError() * 100, err)))
                        .append("\" r=\"2.5\"/>\n");
            }
            s.append("</g>\n");
        }
        double bx = px(best.imagesSeen(), x), by = py(best.testError() * 100, err);
        s.append("<circle id=\"best\" cx=\"").append(f(bx)).append("\" cy=\"").append(f(by))
                .append("\" r=\"6\" fill=\"none\" stroke=\"#000000\" stroke-width=\"1.2\"/>\n");
        s.append(text(Math.min(bx + 10, LEFT + PLOT_W - 60), Math.max(by - 10, TOP + 14), "best " + pct(best.testError()), "annotation"));
        // Legend, top right inside the plot.
        double lx = LEFT + PLOT_W - 200, ly = TOP + 12;
        s.append("<g id=\"legend\">\n<rect x=\"").append(f(lx)).append("\" y=\"").append(f(ly)).append("\" width=\"188\" height=\"50\" fill=\"#ffffff\" "
                + "stroke=\"#888888\" stroke-width=\"0.8\"/>\n");
        s.append("<line x1=\"").append(f(lx + 10)).append("\" y1=\"").append(f(ly + 16)).append("\" x2=\"").append(f(lx + 42)).append("\" y2=\"")
                .append(f(ly + 16)).append("\" stroke=\"").append(ERROR_COLOUR).append("\" stroke-width=\"2.2\"/>\n");
        s.append(text(lx + 50, ly + 21, "test error (%)", "legend-item").replace("<text ", "<text text-anchor=\"start\" "));
        s.append("<line x1=\"").append(f(lx + 10)).append("\" y1=\"").append(f(ly + 36)).append("\" x2=\"").append(f(lx + 42)).append("\" y2=\"")
                .append(f(ly + 36)).append("\" stroke=\"").append(LOSS_COLOUR).append("\" stroke-width=\"1.6\" stroke-dasharray=\"7,4\"/>\n");
        s.append(text(lx + 50, ly + 41, "test loss", "legend-item").replace("<text ", "<text text-anchor=\"start\" "));
        s.append("</g>\n</svg>\n");
        return s.toString();
    }

    /** A linear axis from 0 to a "nice" maximum with 1-2-5 ticks. */
    record Axis(double max, double step) {
        static Axis of(double dataMax) {
            double raw = dataMax / 5;
            double mag = Math.pow(10, Math.floor(Math.log10(raw)));
            double n = raw / mag;
            double step = (n <= 1 ? 1 : n <= 2 ? 2 : n <= 2.5 ? 2.5 : n <= 5 ? 5 : 10) * mag;
            return new Axis(Math.ceil(dataMax / step - 1e-9) * step, step);
        }

        List<Double> ticks() {
            List<Double> t = new ArrayList<>();
            for (int i = 0; i * step <= max + step * 1e-9; i++) t.add(i * step);
            return t;
        }
    }

    static double px(double v, Axis a) {
        return LEFT + v / a.max() * PLOT_W;
    }

    static double py(double v, Axis a) {
        return TOP + PLOT_H - Math.min(v, a.max()) / a.max() * PLOT_H;
    }

    static String line(double x1, double y1, double x2, double y2) {
        return "<line x1=\"" + f(x1) + "\" y1=\"" + f(y1) + "\" x2=\"" + f(x2) + "\" y2=\"" + f(y2) + "\" stroke=\"#000000\"/>\n";
    }

    /** A line that takes its light, dotted stroke from the enclosing grid group. */
    static String gridLine(double x1, double y1, double x2, double y2) {
        return "<line x1=\"" + f(x1) + "\" y1=\"" + f(y1) + "\" x2=\"" + f(x2) + "\" y2=\"" + f(y2) + "\"/>\n";
    }

    static String text(double x, double y, String t, String cls) {
        return "<text class=\"" + cls + "\" x=\"" + f(x) + "\" y=\"" + f(y) + "\">" + esc(t) + "</text>\n";
    }

    private static void row(StringBuilder h, String name, String value) {
        h.append("<tr><td>").append(esc(name)).append("</td><td>").append(esc(value)).append("</td></tr>\n");
    }

    static String f(double d) {
        return String.format(Locale.ROOT, "%.1f", d);
    }

    static String trim(double d) {
        String s = String.format(Locale.ROOT, "%.3f", d);
        s = s.replaceAll("0+$", "");
        return s.endsWith(".") ? s.substring(0, s.length() - 1) : s;
    }

    static String pct(double e) {
        return String.format(Locale.ROOT, "%.2f%%", 100 * e);
    }

    /** 950, 12k, 1.5M. */
    static String fmtCount(long n) {
        if (n >= 1_000_000) return trim(n / 1e6) + "M";
        if (n >= 10_000) return trim(n / 1e3) + "k";
        return String.valueOf(n);
    }

    static String esc(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (char c : s.toCharArray()) {
            switch (c) {
                case '&' -> b.append("&amp;");
                case '<' -> b.append("&lt;");
                case '>' -> b.append("&gt;");
                case '"' -> b.append("&quot;");
                default -> b.append(c);
            }
        }
        return b.toString();
    }
}
