package io.wrnstream.cli.demo;

import static org.assertj.core.api.Assertions.assertThat;

import io.wrnstream.cli.Main;
import io.wrnstream.model.io.ModelFile;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's main command, {@code wrn-stream demo}, end to end and small: in-process Kafka, a Flink MiniCluster,
 * ingest, bounded training, the evaluation stream on stdout, a clean stop with a savepoint, and the files it leaves.
 * Trains on the shared CIFAR-10 when present, else on the demo's labelled synthetic set.
 */
class DemoITCase {

    @TempDir
    Path out;

    @Test
    void demoTrainsEvaluatesStopsWithASavepointAndLeavesItsFiles() throws Exception {
        Path cifar = Path.of(System.getProperty("wrn.datasets", "../shared/datasets"), "cifar10-jpeg");
        List<String> args = new ArrayList<>(List.of("demo", "--model", "wrn-10-1", "--max-images", "256", "--batch-size", "32",
                "--eval-limit", "64", "--snapshot-steps", "4", "--out", out.toString(), "--web-ui-port", "0", "--prometheus-port", "0"));
        if (Files.isDirectory(cifar)) {
            args.addAll(List.of("--data", cifar.toString()));
        }
        ByteArrayOutputStream stdout = new ByteArrayOutputStream();
        PrintStream saved = System.out;
        System.setOut(new PrintStream(stdout, true, StandardCharsets.UTF_8));
        int code;
        try {
            code = Main.commandLine().execute(args.toArray(String[]::new));
        } finally {
            System.setOut(saved);
        }
        List<String> lines = stdout.toString(StandardCharsets.UTF_8).lines().filter(l -> l.startsWith("{")).toList();

        assertThat(code).as("exit code; stdout: %s", lines).isZero();
        assertThat(lines).as("one evaluation JSON line per snapshot (every 4 of 8 steps)")
                .filteredOn(l -> l.contains("\"test_error\"")).hasSizeGreaterThanOrEqualTo(2)
                .allSatisfy(l -> assertThat(l).contains("\"step\":", "\"images_seen\":", "\"test_loss\":"));
        assertThat(lines).anySatisfy(l -> assertThat(l).contains("\"event\":\"trained\"", "\"images_seen\":256"));
        try (var engine = ModelFile.load(out.resolve("final.wrnmodel")).engine()) {
            assertThat(engine.imagesSeen()).isEqualTo(256);
            assertThat(engine.step()).isEqualTo(8);
        }
        try (Stream<Path> savepoints = Files.list(out.resolve("savepoints"))) {
            assertThat(savepoints.filter(p -> p.getFileName().toString().startsWith("savepoint-"))).as("a savepoint to restart from")
                    .hasSize(1);
        }
        try (Stream<Path> models = Files.walk(out.resolve("models"))) {
            assertThat(models.filter(p -> p.toString().endsWith(".wrnmodel"))).as("published models").isNotEmpty();
        }
    }
}
