package io.wrnstream.cli.report;

import static io.wrnstream.cli.report.HtmlReport.esc;
import static io.wrnstream.cli.report.HtmlReport.f;
import static io.wrnstream.cli.report.HtmlReport.text;
import static io.wrnstream.cli.report.HtmlReport.trim;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * One self-contained HTML page comparing the arms of an experiment, in the manner of the WRN paper's figure 2: every
 * arm's test error (solid, right axis) and training loss (dashed, left axis) against epochs on shared axes, each arm in
 * its colour, its reference figure as a dotted line; then the table (arm, parameters, epochs, best and final test
 * error, the paper's figure, the difference) and a plain statement of the protocol followed.
 *
 * <p>The SVG is well-formed XML with stable ids ({@code comparison-curves}, {@code test-error-ARM}, {@code train-loss-ARM},
 * {@code reference-ARM}) and the table has id {@code results}, so tests and tools can read them back.
 */
public final class ComparisonReport {
    /** Arm colours, in order (the first two are the single-run report's). */
    public static final List<String> COLOURS = List.of("#1f4e9c", "#c0392b", "#2e7d32", "#8e44ad", "#d35400", "#555555");
    static final int WIDTH = 960, HEIGHT = 500, LEFT = 80, RIGHT = 80, TOP = 30, BOTTOM = 70;
    static final int PLOT_W = WIDTH - LEFT - RIGHT, PLOT_H = HEIGHT - TOP - BOTTOM;

    private ComparisonReport() {}

    /**
     * One arm of the comparison.
     *
     * @param name arm name
     * @param model the model it ran (wrn-D-K)
     * @param dropout dropout between the convolutions
     * @param parameters trainable parameters
     * @param curve its evaluations (epochs, test error, training loss)
     * @param paper the paper's test error in percent, or null
     * @param reproduction a published reproduction's test error in percent, or null
     * @param wallSeconds training time, over every session of a resumed run
     */
    public record Arm(String name, String model, double dropout, long parameters, LearningCurve curve, Double paper, Double reproduction,
                      double wallSeconds) {
        /** The figure the difference is taken against: the paper's, else the reproduction's. */
        public Double reference() {
            return paper != null ? paper : reproduction;
        }
    }

    /**
     * The page.
     *
     * @param title the experiment's title
     * @param description what it compares, or empty
     * @param banner the protocol statement (a miniature says so here, at the top)
     * @param miniature whether the run is a reduced-budget miniature (the banner is then highlighted)
     * @param context data, seed, engine and machine in one paragraph
     * @throws IllegalArgumentException when no arm has an evaluation
     */
    public static String render(String title, String description, String banner, boolean miniature, String context, List<Arm> arms) {
        return render(title, description, banner, miniature, context, arms, 0);
    }

    /**
     * The page for a run planned to {@code plannedEpochs} per arm: the x axis spans them, and an arm that has not got
     * there yet shows its epochs as {@code reached / planned}.
     */
    public static String render(String title, String description, String banner, boolean miniature, String context, List<Arm> arms,
                                double plannedEpochs) {
        if (arms.stream().allMatch(a -> a.curve().points().isEmpty())) {
            throw new IllegalArgumentException("No evaluations to report: no arm has an evaluation line");
        }
        StringBuilder h = new StringBuilder(32_768);
        h.append(HtmlReport.head(title)).append("<h1>").append(esc(title)).append("</h1>\n");
        h.append(miniature ? "<p class=\"banner\" id=\"protocol\">" : "<p class=\"sub\" id=\"protocol\">").append(esc(banner)).append("</p>\n");
        if (!description.isBlank()) h.append("<p>").append(esc(description)).append("</p>\n");
        h.append("<figure>\n").append(svg(arms, plannedEpochs)).append("<figcaption>CIFAR-10: test error (solid lines, right axis) and training loss "
                + "(dashed lines, left axis) against epochs, every arm on the same axes. A dotted line marks an arm's reference figure "
                + "(the paper's, else the published reproduction's).</figcaption>\n</figure>\n");
        h.append("<h2>Results</h2>\n<table id=\"results\">\n<tr><th>arm</th><th>model</th><th>dropout</th><th>parameters</th><th>epochs</th>"
                + "<th>best test error</th><th>final test error</th><th>paper</th><th>reproduction</th><th>difference</th><th>training time</th></tr>\n");
        for (List<String> row : rows(arms, plannedEpochs)) {
            h.append("<tr>");
            for (String c : row) h.append("<td>").append(esc(c)).append("</td>");
            h.append("</tr>\n");
        }
        h.append("</table>\n<p class=\"sub\">difference: final test error minus the reference figure (the paper's, else the "
                + "reproduction's), in percentage points.</p>\n");
        h.append("<h2>Run</h2>\n<p>").append(esc(context)).append("</p>\n");
        h.append("<h2>Evaluations</h2>\n<table id=\"evaluations\">\n<tr><th>arm</th><th>epochs</th><th>step</th><th>training loss</th>"
                + "<th>test error</th><th>test loss</th></tr>\n");
        for (Arm a : arms) {
            for (EvalPoint p : a.curve().points()) {
                h.append("<tr><td>").append(esc(a.name())).append("</td><td>").append(String.format(Locale.ROOT, "%.2f", p.epochs()))
                        .append("</td><td>").append(p.step()).append("</td><td>")
                        .append(Double.isFinite(p.trainLoss()) ? String.format(Locale.ROOT, "%.4f", p.trainLoss()) : "").append("</td><td>")
                        .append(HtmlReport.pct(p.testError())).append("</td><td>")
                        .append(Double.isFinite(p.testLoss()) ? String.format(Locale.ROOT, "%.4f", p.testLoss()) : "").append("</td></tr>\n");
            }
        }
        h.append("</table>\n</body>\n</html>\n");
        return h.toString();
    }

    /** The table's rows as text: arm, model, dropout, parameters, epochs, best, final, paper, reproduction, difference, time. */
    public static List<List<String>> rows(List<Arm> arms) {
        return rows(arms, 0);
    }

    /** As {@link #rows(List)}; an arm short of {@code plannedEpochs} shows {@code reached / planned}. */
    public static List<List<String>> rows(List<Arm> arms, double plannedEpochs) {
        List<List<String>> out = new ArrayList<>();
        for (Arm a : arms) {
            EvalPoint best = a.curve().best(), last = a.curve().last();
            String diff = last == null || a.reference() == null ? "n/a"
                    : String.format(Locale.ROOT, "%+.2f", 100 * last.testError() - a.reference());
            String epochs = last == null ? "0" : String.format(Locale.ROOT, "%.2f", last.epochs());
            if (plannedEpochs > 0 && (last == null || last.epochs() < plannedEpochs - 1e-6)) epochs += " / " + trim(plannedEpochs);
            out.add(List.of(a.name(), a.model(), trim(a.dropout()), String.format(Locale.ROOT, "%,d", a.parameters()), epochs,
                    best == null ? "n/a" : HtmlReport.pct(best.testError()), last == null ? "n/a" : HtmlReport.pct(last.testError()),
                    a.paper() == null ? "-" : String.format(Locale.ROOT, "%.2f%%", a.paper()),
                    a.reproduction() == null ? "-" : String.format(Locale.ROOT, "%.2f%%", a.reproduction()), diff,
                    io.wrnstream.model.progress.Progress.clock(a.wallSeconds())));
        }
        return out;
    }

    /** The table as aligned text lines (a header, then one line per arm), for terminals and READMEs. */
    public static List<String> textTable(List<Arm> arms) {
        return textTable(arms, 0);
    }

    /** As {@link #textTable(List)} for a run planned to {@code plannedEpochs} per arm. */
    public static List<String> textTable(List<Arm> arms, double plannedEpochs) {
        List<List<String>> rows = new ArrayList<>();
        rows.add(List.of("arm", "model", "dropout", "params", "epochs", "best", "final", "paper", "reproduction", "difference", "time"));
        rows.addAll(rows(arms, plannedEpochs));
        int[] w = new int[rows.get(0).size()];
        for (List<String> r : rows) for (int i = 0; i < w.length; i++) w[i] = Math.max(w[i], r.get(i).length());
        List<String> out = new ArrayList<>();
        for (List<String> r : rows) {
            StringBuilder b = new StringBuilder();
            for (int i = 0; i < w.length; i++) {
                if (i > 0) b.append("  ");
                b.append(i == 0 ? String.format("%-" + w[i] + "s", r.get(i)) : String.format("%" + w[i] + "s", r.get(i)));
            }
            out.add(b.toString().stripTrailing());
        }
        return out;
    }

    /** The comparison figure (well-formed XML). */
    public static String svg(List<Arm> arms) {
        return svg(arms, 0);
    }

    /** The comparison figure, its x axis spanning at least {@code plannedEpochs}. */
    public static String svg(List<Arm> arms, double plannedEpochs) {
        double maxEpochs = plannedEpochs, maxErr = 0, maxLoss = 0;
        for (Arm a : arms) {
            for (EvalPoint p : a.curve().points()) {
                maxEpochs = Math.max(maxEpochs, epochsOf(p));
                maxErr = Math.max(maxErr, p.testError() * 100);
                if (Double.isFinite(p.trainLoss())) maxLoss = Math.max(maxLoss, p.trainLoss());
            }
            if (a.reference() != null) maxErr = Math.max(maxErr, a.reference());
        }
        HtmlReport.Axis x = HtmlReport.Axis.of(maxEpochs > 0 ? maxEpochs : 1);
        HtmlReport.Axis err = HtmlReport.Axis.of(Math.min(100, Math.max(1, maxErr)));
        HtmlReport.Axis loss = HtmlReport.Axis.of(Math.max(0.1, maxLoss));
        StringBuilder s = new StringBuilder(16_384);
        s.append("<svg id=\"comparison-curves\" xmlns=\"http://www.w3.org/2000/svg\" width=\"").append(WIDTH).append("\" height=\"").append(HEIGHT)
                .append("\" viewBox=\"0 0 ").append(WIDTH).append(' ').append(HEIGHT)
                .append("\" font-family=\"Times New Roman, Times, serif\" font-size=\"14\">\n");
        s.append("<rect x=\"0\" y=\"0\" width=\"").append(WIDTH).append("\" height=\"").append(HEIGHT).append("\" fill=\"#ffffff\"/>\n");
        s.append("<g id=\"grid\" stroke=\"#d8d8d8\" stroke-width=\"1\" stroke-dasharray=\"2,3\">\n");
        for (double t : x.ticks()) s.append(gridLine(px(t, x), TOP, px(t, x), TOP + PLOT_H));
        for (double t : err.ticks()) s.append(gridLine(LEFT, py(t, err), LEFT + PLOT_W, py(t, err)));
        s.append("</g>\n");
        s.append("<rect id=\"plot-area\" x=\"").append(LEFT).append("\" y=\"").append(TOP).append("\" width=\"").append(PLOT_W)
                .append("\" height=\"").append(PLOT_H).append("\" fill=\"none\" stroke=\"#000000\" stroke-width=\"1\"/>\n");
        s.append("<g id=\"x-axis\" text-anchor=\"middle\">\n");
        for (double t : x.ticks()) {
            s.append(tick(px(t, x), TOP + PLOT_H, px(t, x), TOP + PLOT_H + 5));
            s.append(text(px(t, x), TOP + PLOT_H + 20, trim(t), "tick"));
        }
        s.append(text(LEFT + PLOT_W / 2.0, HEIGHT - 22, "epochs", "label")).append("</g>\n");
        s.append("<g id=\"y-axis-loss\" text-anchor=\"end\">\n");
        for (double t : loss.ticks()) {
            s.append(tick(LEFT - 5, py(t, loss), LEFT, py(t, loss)));
            s.append(text(LEFT - 8, py(t, loss) + 5, trim(t), "tick"));
        }
        s.append("<text class=\"label\" text-anchor=\"middle\" transform=\"translate(24,").append(f(TOP + PLOT_H / 2.0))
                .append(") rotate(-90)\">training loss (dashed)</text>\n</g>\n");
        s.append("<g id=\"y-axis-error\" text-anchor=\"start\">\n");
        for (double t : err.ticks()) {
            s.append(tick(LEFT + PLOT_W, py(t, err), LEFT + PLOT_W + 5, py(t, err)));
            s.append(text(LEFT + PLOT_W + 8, py(t, err) + 5, trim(t), "tick"));
        }
        s.append("<text class=\"label\" text-anchor=\"middle\" transform=\"translate(").append(WIDTH - 22).append(',').append(f(TOP + PLOT_H / 2.0))
                .append(") rotate(90)\">test error, % (solid)</text>\n</g>\n");
        for (int i = 0; i < arms.size(); i++) {
            Arm a = arms.get(i);
            String colour = COLOURS.get(i % COLOURS.size());
            if (a.reference() != null) {
                s.append("<line id=\"reference-").append(esc(a.name())).append("\" x1=\"").append(LEFT).append("\" y1=\"").append(f(py(a.reference(), err)))
                        .append("\" x2=\"").append(LEFT + PLOT_W).append("\" y2=\"").append(f(py(a.reference(), err))).append("\" stroke=\"").append(colour)
                        .append("\" stroke-width=\"1\" stroke-dasharray=\"1,3\"/>\n");
            }
            List<String> errPts = new ArrayList<>(), lossPts = new ArrayList<>();
            for (EvalPoint p : a.curve().points()) {
                errPts.add(f(px(epochsOf(p), x)) + "," + f(py(p.testError() * 100, err)));
                if (Double.isFinite(p.trainLoss())) lossPts.add(f(px(epochsOf(p), x)) + "," + f(py(p.trainLoss(), loss)));
            }
            s.append("<polyline id=\"train-loss-").append(esc(a.name())).append("\" class=\"curve\" fill=\"none\" stroke=\"").append(colour)
                    .append("\" stroke-width=\"1.6\" stroke-dasharray=\"7,4\" points=\"").append(String.join(" ", lossPts)).append("\"/>\n");
            s.append("<polyline id=\"test-error-").append(esc(a.name())).append("\" class=\"curve\" fill=\"none\" stroke=\"").append(colour)
                    .append("\" stroke-width=\"2.4\" points=\"").append(String.join(" ", errPts)).append("\"/>\n");
            if (errPts.size() == 1) {  // a single evaluation: a dot, so it shows
                String[] xy = errPts.get(0).split(",");
                s.append("<circle cx=\"").append(xy[0]).append("\" cy=\"").append(xy[1]).append("\" r=\"4\" fill=\"").append(colour).append("\"/>\n");
            }
            if (lossPts.size() == 1) {
                String[] xy = lossPts.get(0).split(",");
                s.append("<circle cx=\"").append(xy[0]).append("\" cy=\"").append(xy[1]).append("\" r=\"4\" fill=\"none\" stroke=\"").append(colour)
                        .append("\"/>\n");
            }
        }
        // Legend, top right inside the plot: one line per arm, then the line styles.
        double lx = LEFT + PLOT_W - 250, ly = TOP + 10, lh = 20 * (arms.size() + 2) + 8;
        s.append("<g id=\"legend\">\n<rect x=\"").append(f(lx)).append("\" y=\"").append(f(ly)).append("\" width=\"240\" height=\"").append(f(lh))
                .append("\" fill=\"#ffffff\" stroke=\"#888888\" stroke-width=\"0.8\"/>\n");
        for (int i = 0; i < arms.size(); i++) {
            double y = ly + 18 + 20 * i;
            s.append("<line x1=\"").append(f(lx + 10)).append("\" y1=\"").append(f(y - 5)).append("\" x2=\"").append(f(lx + 42)).append("\" y2=\"")
                    .append(f(y - 5)).append("\" stroke=\"").append(COLOURS.get(i % COLOURS.size())).append("\" stroke-width=\"2.4\"/>\n");
            s.append(text(lx + 50, y, arms.get(i).name(), "legend-item").replace("<text ", "<text text-anchor=\"start\" "));
        }
        double y = ly + 18 + 20 * arms.size();
        s.append("<line x1=\"").append(f(lx + 10)).append("\" y1=\"").append(f(y - 5)).append("\" x2=\"").append(f(lx + 42)).append("\" y2=\"")
                .append(f(y - 5)).append("\" stroke=\"#000000\" stroke-width=\"2\"/>\n");
        s.append(text(lx + 50, y, "test error (right axis)", "legend-item").replace("<text ", "<text text-anchor=\"start\" "));
        s.append("<line x1=\"").append(f(lx + 10)).append("\" y1=\"").append(f(y + 15)).append("\" x2=\"").append(f(lx + 42)).append("\" y2=\"")
                .append(f(y + 15)).append("\" stroke=\"#000000\" stroke-width=\"1.6\" stroke-dasharray=\"7,4\"/>\n");
        s.append(text(lx + 50, y + 20, "training loss (left axis)", "legend-item").replace("<text ", "<text text-anchor=\"start\" "));
        s.append("</g>\n</svg>\n");
        return s.toString();
    }

    private static double epochsOf(EvalPoint p) {
        return Double.isFinite(p.epochs()) ? p.epochs() : 0;
    }

    private static double px(double v, HtmlReport.Axis a) {
        return LEFT + Math.min(v, a.max()) / a.max() * PLOT_W;
    }

    private static double py(double v, HtmlReport.Axis a) {
        return TOP + PLOT_H - Math.min(v, a.max()) / a.max() * PLOT_H;
    }

    private static String tick(double x1, double y1, double x2, double y2) {
        return "<line x1=\"" + f(x1) + "\" y1=\"" + f(y1) + "\" x2=\"" + f(x2) + "\" y2=\"" + f(y2) + "\" stroke=\"#000000\"/>\n";
    }

    private static String gridLine(double x1, double y1, double x2, double y2) {
        return "<line x1=\"" + f(x1) + "\" y1=\"" + f(y1) + "\" x2=\"" + f(x2) + "\" y2=\"" + f(y2) + "\"/>\n";
    }
}
