package io.wrnstream.cli.report;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/** The comparison page: one figure with every arm on shared axes, the results table with the difference to the paper. */
class ComparisonReportTest {

    /** {@code n} arms whose error falls towards 10% + 2i% over 10 epochs, loss towards 0.3, arm i's paper figure 8 + i. */
    static List<ComparisonReport.Arm> arms(int n) {
        List<ComparisonReport.Arm> out = new ArrayList<>();
        for (int a = 0; a < n; a++) {
            List<String> lines = new ArrayList<>();
            for (int e = 1; e <= 10; e++) {
                double err = 0.10 + 0.02 * a + 0.6 * Math.exp(-e / 2.5);
                double loss = 0.3 + 1.8 * Math.exp(-e / 3.0) + 0.05 * a;
                lines.add(String.format(Locale.ROOT, "{\"format\":\"wrn-stream.train-eval/2\",\"step\":%d,\"images_seen\":%d,\"epochs\":%d,"
                        + "\"train_loss\":%.4f,\"test_error\":%.4f,\"test_loss\":%.4f,\"test_images\":10000}", e * 391, e * 50_000, e, loss, err, loss + 0.2));
            }
            out.add(new ComparisonReport.Arm("arm-" + a, "wrn-16-" + (a + 1), a % 2 == 0 ? 0 : 0.3, 1000L * (a + 1), LearningCurve.parse(lines),
                    a == 1 ? null : 8.0 + a, a == 1 ? 9.5 : null, 600 * (a + 1)));
        }
        return out;
    }

    @Test
    void drawsEveryArmOnSharedAxesWithItsReferenceFigure() throws Exception {
        String html = ComparisonReport.render("t", "", "banner text", false, "ctx", arms(3));
        Document svg = xml(html.substring(html.indexOf("<svg"), html.indexOf("</svg>") + 6));
        for (int a = 0; a < 3; a++) {
            Element err = byId(svg, "test-error-arm-" + a), loss = byId(svg, "train-loss-arm-" + a);
            assertThat(err.getAttribute("points").split(" ")).hasSize(10);
            assertThat(loss.getAttribute("points").split(" ")).hasSize(10);
            assertThat(loss.getAttribute("stroke-dasharray")).isEqualTo("7,4");
            assertThat(err.getAttribute("stroke")).isEqualTo(loss.getAttribute("stroke")).isEqualTo(ComparisonReport.COLOURS.get(a));
            assertThat(byId(svg, "reference-arm-" + a)).isNotNull();
        }
        // Shared x axis: every arm's last point sits at the right edge of the plot.
        for (int a = 0; a < 3; a++) {
            String[] pts = byId(svg, "test-error-arm-" + a).getAttribute("points").split(" ");
            assertThat(pts[9]).startsWith(HtmlReport.f(ComparisonReport.LEFT + ComparisonReport.PLOT_W) + ",");
        }
        assertThat(html).contains("<p class=\"sub\" id=\"protocol\">banner text</p>");
    }

    @Test
    void tableGivesTheDifferenceToThePapersFigureElseTheReproductions() {
        List<List<String>> rows = ComparisonReport.rows(arms(2));
        // arm 0: final error 10% + 60% e^-4 = 11.10%, paper 8% -> +3.10; arm 1: 13.10%, reproduction 9.5% -> +3.60
        assertThat(rows.get(0)).containsExactly("arm-0", "wrn-16-1", "0", "1,000", "10.00", "11.10%", "11.10%", "8.00%", "-", "+3.10", "10:00");
        assertThat(rows.get(1)).containsExactly("arm-1", "wrn-16-2", "0.3", "2,000", "10.00", "13.10%", "13.10%", "-", "9.50%", "+3.60", "20:00");
        assertThat(ComparisonReport.rows(arms(1), 20).get(0).get(4)).isEqualTo("10.00 / 20");
        assertThat(ComparisonReport.rows(arms(1), 10).get(0).get(4)).isEqualTo("10.00");
        assertThat(ComparisonReport.textTable(arms(2)).get(0).split("\\s+")).containsExactly("arm", "model", "dropout", "params", "epochs",
                "best", "final", "paper", "reproduction", "difference", "time");
    }

    @Test
    void refusesAReportWithoutEvaluations() {
        ComparisonReport.Arm empty = new ComparisonReport.Arm("x", "wrn-10-1", 0, 1, LearningCurve.parse(List.of()), null, null, 0);
        assertThatThrownBy(() -> ComparisonReport.render("t", "", "b", true, "c", List.of(empty)))
                .hasMessage("No evaluations to report: no arm has an evaluation line");
    }

    private static Document xml(String s) throws Exception {
        return DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(new ByteArrayInputStream(s.getBytes(StandardCharsets.UTF_8)));
    }

    private static Element byId(Document d, String id) {
        NodeList all = d.getElementsByTagName("*");
        for (int i = 0; i < all.getLength(); i++) {
            Element e = (Element) all.item(i);
            if (id.equals(e.getAttribute("id"))) return e;
        }
        throw new AssertionError("no element " + id);
    }
}
