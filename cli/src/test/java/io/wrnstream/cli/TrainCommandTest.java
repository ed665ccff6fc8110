package io.wrnstream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.wrnstream.model.engine.TrainingEngine;
import io.wrnstream.model.io.ModelFile;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.StringWriter;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The offline {@code train} command end to end on a small PNG folder: JSON evaluation lines, a model file, resume. */
class TrainCommandTest {

    @TempDir
    Path dir;

    @Test
    void trainsWritesJsonEvaluationsAndAModelThatResumes() throws Exception {
        Path data = dir.resolve("data");
        writeSplit(data, "train", 24, 1);
        writeSplit(data, "test", 8, 2);
        Path model = dir.resolve("out/model.wrn");

        List<JsonNode> first = run("--data", data.toString(), "--model", "wrn-10-1", "--images", "32", "--batch-size", "8",
                "--eval-every", "16", "--out", model.toString(), "--threads", "1");
        assertThat(first).hasSize(2);
        assertThat(first.get(0).get("images_seen").asLong()).isEqualTo(16);
        assertThat(first.get(1).get("images_seen").asLong()).isEqualTo(32);
        for (JsonNode line : first) {
            assertThat(line.get("test_error").asDouble()).isBetween(0.0, 1.0);
            assertThat(line.get("test_loss").asDouble()).isPositive().isFinite();
            assertThat(line.get("test_images").asLong()).isEqualTo(16);  // 2 classes x 8
        }
        try (TrainingEngine engine = ModelFile.load(model).engine()) {
            assertThat(engine.imagesSeen()).isEqualTo(32);
            assertThat(engine.step()).isEqualTo(4);
            assertThat(engine.config().wrn().classes()).isEqualTo(2);
            assertThat(engine.config().wrn().height()).isEqualTo(16);
        }

        List<JsonNode> resumed = run("--data", data.toString(), "--model", "wrn-10-1", "--images", "16", "--batch-size", "8",
                "--out", model.toString(), "--resume", model.toString(), "--threads", "1");
        assertThat(resumed.get(resumed.size() - 1).get("images_seen").asLong()).isEqualTo(48);
        try (TrainingEngine engine = ModelFile.load(model).engine()) {
            assertThat(engine.step()).isEqualTo(6);
        }
    }

    @Test
    void conflictingOptionsExitWith2AndNameThem() {
        StringWriter err = new StringWriter();
        CommandLine cli = Cli.configure(new CommandLine(new TrainCommand()));
        cli.setErr(new PrintWriter(err, true));
        int code = cli.execute("--data", dir.toString(), "--epochs", "1", "--images", "10");
        assertThat(code).isEqualTo(Cli.USAGE);
        assertThat(err.toString().trim()).isEqualTo("error: --epochs and --images conflict: give one of them");
    }

    @Test
    void scheduleFollowsTheBudgetUnlessSetAndSaysSo() throws Exception {
        Path data = dir.resolve("data");
        writeSplit(data, "train", 16, 1);
        writeSplit(data, "test", 4, 2);
        Path model = dir.resolve("budget.wrn");
        String err = runErr("--data", data.toString(), "--model", "wrn-10-1", "--epochs", "2", "--batch-size", "8", "--out", model.toString(),
                "--threads", "1", "--engine", "libtorch");
        assertThat(err).contains("Schedule: step, lr 0.1 x0.2 at epochs 0.6/1.2/1.6 over 2 epochs; this run trains epochs 0 to 2");
        try (TrainingEngine engine = ModelFile.load(model).engine()) {
            assertThat(engine.config().optim().epochs()).isEqualTo(2.0);
            assertThat(engine.config().optim().milestones()).containsExactly(0.6, 1.2, 1.6);
            // the last step of epoch 2 (after 0.8 of it) runs at 0.1 x 0.2^3
            assertThat(engine.config().optim().learningRateAt(engine.imagesSeen() - 8)).isCloseTo(0.0008, org.assertj.core.data.Offset.offset(1e-12));
        }
        Path set = dir.resolve("set.wrn");
        String setErr = runErr("--data", data.toString(), "--model", "wrn-10-1", "--epochs", "1", "--schedule-epochs", "200", "--batch-size", "8",
                "--out", set.toString(), "--threads", "1", "--engine", "libtorch");
        assertThat(setErr).contains("Schedule: step, lr 0.1 x0.2 at epochs 60/120/160 over 200 epochs; this run trains epochs 0 to 1");
        assertThat(String.join(" ", new CommandLine(new TrainCommand()).getCommandSpec().findOption("--schedule-epochs").description()))
                .endsWith("Default: this run's budget (--epochs or --images), so a short run still decays its lr.");
    }

    @Test
    void resumeRefusesOptionsTheModelFixesAndReportsAScheduleThatHasEnded() throws Exception {
        Path data = dir.resolve("data");
        writeSplit(data, "train", 8, 1);
        writeSplit(data, "test", 4, 2);
        Path model = dir.resolve("m.wrn");
        run("--data", data.toString(), "--model", "wrn-10-1", "--epochs", "1", "--batch-size", "8", "--out", model.toString(), "--threads", "1",
                "--engine", "libtorch");

        StringWriter err = new StringWriter();
        CommandLine cli = Cli.configure(new CommandLine(new TrainCommand()));
        cli.setErr(new PrintWriter(err, true));
        int code = cli.execute("--data", data.toString(), "--resume", model.toString(), "--model", "wrn-16-1", "--schedule-epochs", "5",
                "--dropout", "0", "--out", model.toString());
        assertThat(code).isEqualTo(Cli.USAGE);
        assertThat(err.toString().trim()).isEqualTo("error: --resume continues the model as it was created and cannot change "
                + "--model wrn-16-1 (the model's: wrn-10-1), --schedule-epochs 5 (the model's: 1); drop these options or start a new run "
                + "without --resume");

        String resumed = runErr("--data", data.toString(), "--resume", model.toString(), "--epochs", "1", "--out", model.toString(),
                "--threads", "1");
        assertThat(resumed).contains("Schedule: step, lr 0.1 x0.2 at epochs 0.3/0.6/0.8 over 1 epochs (the resumed model's); "
                + "this run trains epochs 1 to 2 - past the schedule's end, so at lr 0.0008");
        try (TrainingEngine engine = ModelFile.load(model).engine()) {
            assertThat(engine.imagesSeen()).isEqualTo(32);  // 2 epochs of 16 images, batch 8 taken from the model
            assertThat(engine.step()).isEqualTo(4);
        }
    }

    /** Runs train and returns what it wrote on stderr (stdout discarded); fails on a non-zero exit. */
    private static String runErr(String... args) {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream saved = System.err, savedOut = System.out;
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        System.setOut(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
        int code;
        try {
            code = Cli.configure(new CommandLine(new TrainCommand())).execute(args);
        } finally {
            System.setErr(saved);
            System.setOut(savedOut);
        }
        String text = err.toString(StandardCharsets.UTF_8);
        assertThat(code).as(text).isZero();
        return text;
    }

    private static List<JsonNode> run(String... args) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream saved = System.out;
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        int code;
        try {
            code = Cli.configure(new CommandLine(new TrainCommand())).execute(args);
        } finally {
            System.setOut(saved);
        }
        assertThat(code).as("exit code").isZero();
        ObjectMapper mapper = new ObjectMapper();
        return out.toString(StandardCharsets.UTF_8).lines().filter(l -> l.startsWith("{")).map(l -> {
            try {
                return mapper.readTree(l);
            } catch (Exception e) {
                throw new AssertionError("not JSON: " + l, e);
            }
        }).toList();
    }

    private static void writeSplit(Path root, String split, int n, long seed) throws Exception {
        ImageFolders.writeSplit(root, split, n, seed);
    }
}
