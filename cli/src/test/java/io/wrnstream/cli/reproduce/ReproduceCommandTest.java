package io.wrnstream.cli.reproduce;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.wrnstream.cli.Cli;
import io.wrnstream.cli.ImageFolders;
import io.wrnstream.model.io.ModelFile;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;
import picocli.CommandLine;

/** {@code reproduce} end to end: the listing, a miniature of the dropout experiment with its report, resume, refusals. */
class ReproduceCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    /** stdout, stderr and exit code of one run. */
    record Run(int code, String out, String err) {
        List<JsonNode> json() {
            List<JsonNode> lines = new ArrayList<>();
            for (String l : out.lines().filter(l -> l.startsWith("{")).toList()) {
                try {
                    lines.add(JSON.readTree(l));
                } catch (Exception e) {
                    throw new AssertionError("not JSON: " + l, e);
                }
            }
            return lines;
        }
    }

    static Run run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        PrintStream savedOut = System.out, savedErr = System.err;
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try {
            CommandLine cli = Cli.configure(new CommandLine(new ReproduceCommand()));
            cli.setErr(new java.io.PrintWriter(System.err, true));
            int code = cli.execute(args);
            return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(savedOut);
            System.setErr(savedErr);
        }
    }

    @Test
    void listsTheShippedExperimentsOneALineAndHelpNamesThem() {
        Run list = run("--list");
        assertThat(list.code()).isZero();
        assertThat(list.out().lines().toList()).hasSize(3).satisfiesExactly(
                l -> assertThat(l).startsWith("width-vs-depth  2 arms"),
                l -> assertThat(l).startsWith("dropout         4 arms"),
                l -> assertThat(l).startsWith("width           5 arms"));
        String help = new CommandLine(new ReproduceCommand()).getUsageMessage();
        assertThat(help).contains("width-vs-depth", "dropout", "width (the paper's width table)", "reduced-budget miniature");
    }

    @Test
    void dropoutMiniatureFinishesAndWritesTheReportWithItsCurves() throws Exception {
        Path data = ImageFolders.dataset(dir.resolve("data"), 40, 10);
        Path out = dir.resolve("out");
        Run r = run("--experiment", "dropout", "--epochs", "0.05", "--out", out.toString(), "--data", data.toString(), "--model", "wrn-10-1",
                "--threads", "1");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.err()).contains("REDUCED-BUDGET MINIATURE, NOT THE PAPER'S PROTOCOL: 0.05 of 200 epochs per arm; every arm on wrn-10-1");
        List<JsonNode> lines = r.json();
        assertThat(lines).extracting(n -> n.get("arm").asText()).containsExactly("wrn-40-1", "wrn-40-1-dropout", "wrn-16-4", "wrn-16-4-dropout");
        for (JsonNode n : lines) {
            assertThat(n.get("format").asText()).isEqualTo("wrn-stream.train-eval/2");
            assertThat(n.get("experiment").asText()).isEqualTo("dropout");
            assertThat(n.get("protocol").asText()).startsWith("miniature (0.05 of 200 epochs");
            assertThat(n.get("test_error").asDouble()).isBetween(0.0, 1.0);
            assertThat(n.get("train_loss").asDouble()).isPositive();
        }
        String html = Files.readString(out.resolve("report.html"));
        assertThat(html).contains("<p class=\"banner\" id=\"protocol\">REDUCED-BUDGET MINIATURE, NOT THE PAPER'S PROTOCOL");
        Document svg = svg(html);
        for (String arm : List.of("wrn-40-1", "wrn-40-1-dropout", "wrn-16-4", "wrn-16-4-dropout")) {
            assertThat(byId(svg, "test-error-" + arm)).as(arm).isNotNull();
            assertThat(byId(svg, "train-loss-" + arm)).as(arm).isNotNull();
            assertThat(byId(svg, "reference-" + arm)).as(arm).isNotNull();
            assertThat(Files.isRegularFile(out.resolve("arms").resolve(arm).resolve("model.wrn"))).isTrue();
        }
        assertThat(html).contains("<td>wrn-16-4</td><td>wrn-10-1</td><td>0</td>", "<td>5.02%</td>", "<td>6.89%</td>");

        Files.delete(out.resolve("report.html"));
        Run again = run("--experiment", "dropout", "--epochs", "0.05", "--out", out.toString(), "--data", data.toString(), "--model", "wrn-10-1",
                "--report-only");
        assertThat(again.code()).as(again.err()).isZero();
        assertThat(again.json()).isEmpty();
        assertThat(Files.readString(out.resolve("report.html"))).contains("<td>wrn-16-4</td><td>wrn-10-1</td><td>0</td>");
    }

    @Test
    void anInterruptedRunContinuesWhereItStopped() throws Exception {
        Path data = ImageFolders.dataset(dir.resolve("data"), 40, 10);
        Path file = Files.writeString(dir.resolve("mine.yaml"), """
                format: wrn-stream.experiment/1
                name: mine
                data: {path: %s}
                seed: 7
                recipe: {lr: 0.1, schedule: step, batch-size: 8, epochs: 4}
                arms:
                  - {name: small, model: wrn-10-1, dropout: 0.0, paper: 9.5}
                  - {name: second, model: wrn-10-1, dropout: 0.0}
                """.formatted(data.toString().replace("\\", "/")));
        Path whole = dir.resolve("whole"), parts = dir.resolve("parts");
        Run a = run("--experiment", file.toString(), "--epochs", "1", "--evaluations", "4", "--out", whole.toString(), "--threads", "1");
        assertThat(a.code()).as(a.err()).isZero();
        Run stopped = run("--experiment", file.toString(), "--epochs", "1", "--evaluations", "4", "--out", parts.toString(), "--threads", "1",
                "--stop-after-evaluations", "2");
        assertThat(stopped.code()).as(stopped.err()).isEqualTo(ReproduceCommand.STOPPED);
        assertThat(ModelFile.load(parts.resolve("arms/small/model.wrn")).provenance().imagesSeen()).isEqualTo(40);
        Run b = run("--experiment", file.toString(), "--epochs", "1", "--evaluations", "4", "--out", parts.toString(), "--threads", "1");
        assertThat(b.code()).as(b.err()).isZero();
        assertThat(b.err()).contains("arm 1/2 small: wrn-10-1, dropout 0, ", "continuing at epoch 0.5");
        // The continued arm's evaluations are those of the uninterrupted run, image for image.
        assertThat(comparable(parts.resolve("arms/small/evaluations.jsonl"))).containsExactlyElementsOf(comparable(whole.resolve("arms/small/evaluations.jsonl")));
        assertThat(comparable(parts.resolve("arms/second/evaluations.jsonl"))).containsExactlyElementsOf(comparable(whole.resolve("arms/second/evaluations.jsonl")));
        assertThat(comparable(parts.resolve("arms/small/evaluations.jsonl"))).extracting(l -> l.get(0)).containsExactly("24", "40", "64", "80");

        Run again = run("--experiment", file.toString(), "--epochs", "1", "--evaluations", "4", "--out", parts.toString(), "--threads", "1");
        assertThat(again.code()).isZero();
        assertThat(again.err()).contains("arm 1/2 small already complete (1 epochs in ");
        assertThat(again.json()).isEmpty();

        Run other = run("--experiment", file.toString(), "--epochs", "2", "--out", parts.toString(), "--threads", "1");
        assertThat(other.code()).isEqualTo(Cli.USAGE);
        assertThat(other.err()).contains("error: Cannot continue " + parts.resolve("arms/small/model.wrn").toAbsolutePath()
                + ": it was trained with schedule of 1 epochs at lr 0.1 (this run: 2 epochs at lr 0.1). Give the same budget and options as "
                + "the interrupted run, or another --out");
    }

    @Test
    void dropoutMiniatureOnTheSharedCifar10() throws Exception {
        Path cifar = Path.of(System.getProperty("wrn.datasets", "../shared/datasets"), "cifar10-jpeg");
        Assumptions.assumeTrue(Files.isDirectory(cifar), "SKIPPED: the shared CIFAR-10 (" + cifar.toAbsolutePath()
                + ") is absent; set -Dwrn.datasets=DIR to run reproduce on it");
        Path out = dir.resolve("cifar");
        Run r = run("--experiment", "dropout", "--epochs", "0.05", "--out", out.toString(), "--data", cifar.toString(), "--model", "wrn-10-1",
                "--limit", "2560", "--eval-limit", "500", "--threads", "1");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.json()).hasSize(4).allSatisfy(n -> assertThat(n.get("test_images").asLong()).isEqualTo(500));
        assertThat(svg(Files.readString(out.resolve("report.html"))).getElementsByTagName("polyline").getLength()).isEqualTo(8);
    }

    @Test
    void conflictingBudgetsAreRefusedNamingThem() {
        Run r = run("--experiment", "dropout", "--epochs", "1", "--minutes", "5");
        assertThat(r.code()).isEqualTo(Cli.USAGE);
        assertThat(r.err().trim()).isEqualTo("error: --epochs and --minutes conflict: give one budget");
        Run e = run("--experiment", "dropout", "--epochs", "0");
        assertThat(e.err().trim()).isEqualTo("error: Invalid value 0.0 for --epochs: must be a number > 0 (e.g. 0.05, 10, 200)");
        Run m = run("--epochs", "1");
        assertThat(m.err().trim()).isEqualTo("error: Missing --experiment NAME|FILE: one of [width-vs-depth, dropout, width] or a YAML file (see --list)");
    }

    /** Each evaluation line as [images_seen, step, test_error, train_loss, test_loss] text (timings dropped). */
    private static List<List<String>> comparable(Path jsonl) throws Exception {
        List<List<String>> out = new ArrayList<>();
        for (String l : Files.readAllLines(jsonl)) {
            JsonNode n = JSON.readTree(l);
            out.add(List.of(n.get("images_seen").asText(), n.get("step").asText(), n.get("test_error").asText(), n.get("train_loss").asText(),
                    n.get("test_loss").asText()));
        }
        return out;
    }

    static Document svg(String html) throws Exception {
        int a = html.indexOf("<svg id=\"comparison-curves\""), b = html.indexOf("</svg>", a);
        assertThat(a).as("comparison SVG present").isNotNegative();
        return DocumentBuilderFactory.newInstance().newDocumentBuilder()
                .parse(new ByteArrayInputStream(html.substring(a, b + 6).getBytes(StandardCharsets.UTF_8)));
    }

    private static Element byId(Document d, String id) {
        NodeList all = d.getElementsByTagName("*");
        for (int i = 0; i < all.getLength(); i++) {
            Element e = (Element) all.item(i);
            if (id.equals(e.getAttribute("id"))) return e;
        }
        return null;
    }
}
