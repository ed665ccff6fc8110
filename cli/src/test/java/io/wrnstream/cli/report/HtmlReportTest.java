package io.wrnstream.cli.report;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.wrnstream.cli.Main;
import java.io.ByteArrayInputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;
import picocli.CommandLine;

class HtmlReportTest {

    @TempDir
    Path dir;

    @Test
    void parsesJobAndTrainLinesSkippingOthers() {
        List<String> lines = new ArrayList<>(Curves.jobLines(3));
        lines.add("{\"step\":100,\"images_seen\":12800,\"epochs\":0.256,\"test_error\":0.5,\"test_loss\":1.4,\"test_images\":1000,"
                + "\"eval_seconds\":1.2,\"elapsed_seconds\":30.0}");
        lines.add("garbage");
        lines.add("{\"event\":\"STEP\",\"step\":3}");
        lines.add("");
        lines.add("{\"config\":{\"model\":\"wrn-16-4\",\"batch-size\":128}}");
        LearningCurve c = LearningCurve.parse(lines);
        assertThat(c.points()).hasSize(4);
        assertThat(c.skipped()).isEqualTo(2);
        assertThat(c.points()).extracting(EvalPoint::imagesSeen).containsExactly(2048L, 4096L, 6144L, 12800L);
        assertThat(c.last().images()).isEqualTo(1000);
        assertThat(c.points().get(0).modelVersion()).isEqualTo(1);
        assertThat(c.config()).contains("\"model\" : \"wrn-16-4\"");
    }

    @Test
    void curvesLieInsideThePlotAreaWithIncreasingImagesSeen() throws Exception {
        LearningCurve c = LearningCurve.parse(Curves.jobLines(40));
        Document svg = svgOf(HtmlReport.render(c, "t", null));
        Element area = byId(svg, "plot-area");
        double x0 = d(area, "x"), y0 = d(area, "y"), x1 = x0 + d(area, "width"), y1 = y0 + d(area, "height");
        for (String id : List.of("test-error", "test-loss")) {
            double[][] pts = points(byId(svg, id));
            assertThat(pts.length).as(id).isEqualTo(40);
            for (int i = 0; i < pts.length; i++) {
                assertThat(pts[i][0]).as(id + " x").isBetween(x0, x1);
                assertThat(pts[i][1]).as(id + " y").isBetween(y0, y1);
                if (i > 0) assertThat(pts[i][0]).as(id + " monotone x").isGreaterThan(pts[i - 1][0]);
            }
            assertThat(pts[pts.length - 1][0]).as("the last point is at the right end of a nice axis").isBetween(x0 + 0.5 * (x1 - x0), x1);
        }
        // Lower error is drawn lower... in SVG, that is a larger y: the best point has the largest y of the error curve.
        double[][] err = points(byId(svg, "test-error"));
        double maxY = 0;
        for (double[] p : err) maxY = Math.max(maxY, p[1]);
        assertThat(d(byId(svg, "best"), "cy")).isCloseTo(maxY, org.assertj.core.data.Offset.offset(0.11));
        assertThat(err[0][1]).as("first evaluation (high error) is near the top").isLessThan(err[err.length - 1][1]);
        NodeList texts = svg.getElementsByTagName("text");
        List<String> labels = new ArrayList<>();
        for (int i = 0; i < texts.getLength(); i++) labels.add(texts.item(i).getTextContent());
        assertThat(labels).contains("training images seen", "test error (%)", "test loss (cross-entropy)", "test loss", "0", "80k");
    }

    @Test
    void pageIsSelfContainedAndShowsFinalNumbersAndEscapedConfig() {
        LearningCurve c = LearningCurve.parse(Curves.jobLines(10));
        String html = HtmlReport.render(c, "WRN <run>", "model: wrn-16-4\nnote: a < b & c");
        assertThat(html).startsWith("<!DOCTYPE html>").contains("<title>WRN &lt;run&gt;</title>")
                .contains("<pre id=\"config\">model: wrn-16-4\nnote: a &lt; b &amp; c</pre>");
        assertThat(html.replace("http://www.w3.org/2000/svg", "")).doesNotContain("http:").doesNotContain("https:").doesNotContain("<script")
                .doesNotContain("src=").doesNotContain("href=").doesNotContain("url(").doesNotContain("@import");
        EvalPoint best = c.best();
        assertThat(html).contains(String.format(java.util.Locale.ROOT, "<tr><td>Best test error</td><td>%.2f%% at step %d", 100 * best.testError(), best.step()))
                .contains(String.format(java.util.Locale.ROOT, "<tr><td>Final test error</td><td>%.2f%% at step 160", 100 * c.last().testError()))
                .contains("<tr><td>Evaluations</td><td>10</td></tr>");
    }

    @Test
    void noEvaluationIsAClearError() {
        assertThatThrownBy(() -> HtmlReport.render(LearningCurve.parse(List.of("x", "{\"a\":1}")), "t", null))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("No evaluations to report: the input has no line with step, images_seen and test_error (2 other lines skipped)");
    }

    @Test
    void reportCommandWritesThePageFromAJsonLinesFile() throws Exception {
        Path in = dir.resolve("results.jsonl");
        Files.write(in, Curves.jobLines(5));
        Path config = dir.resolve("job.yaml");
        Files.writeString(config, "model: wrn-10-1\n");
        Path out = dir.resolve("out/report.html");
        CommandLine cl = Main.commandLine();
        assertThat(cl.execute("report", "--input", in.toString(), "--config", config.toString(), "-o", out.toString())).isZero();
        assertThat(Files.readString(out)).contains("<svg id=\"learning-curve\"").contains("model: wrn-10-1");

        StringWriter err = new StringWriter();
        cl.setErr(new PrintWriter(err, true));
        assertThat(cl.execute("report", "-o", out.toString())).isEqualTo(2);
        assertThat(err.toString().trim()).isEqualTo("error: Give exactly one of --input FILE and --bootstrap SERVERS (with --topic)");
    }

    static Document svgOf(String html) throws Exception {
        String svg = html.substring(html.indexOf("<svg"), html.indexOf("</svg>") + 6);
        return DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(new ByteArrayInputStream(svg.getBytes(StandardCharsets.UTF_8)));
    }

    private static Element byId(Document d, String id) {
        for (String tag : List.of("rect", "polyline", "circle")) {
            NodeList l = d.getElementsByTagName(tag);
            for (int i = 0; i < l.getLength(); i++) {
                Element e = (Element) l.item(i);
                if (id.equals(e.getAttribute("id"))) return e;
            }
        }
        throw new AssertionError("no element with id " + id);
    }

    private static double d(Element e, String attr) {
        return Double.parseDouble(e.getAttribute(attr));
    }

    private static double[][] points(Element polyline) {
        String[] pairs = polyline.getAttribute("points").trim().split("\\s+");
        double[][] out = new double[pairs.length][];
        for (int i = 0; i < pairs.length; i++) {
            String[] xy = pairs[i].split(",");
            out[i] = new double[] {Double.parseDouble(xy[0]), Double.parseDouble(xy[1])};
        }
        return out;
    }
}
