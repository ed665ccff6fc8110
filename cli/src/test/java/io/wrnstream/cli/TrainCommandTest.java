package io.wrnstream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.wrnstream.model.engine.TrainingEngine;
import io.wrnstream.model.io.ModelFile;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.StringWriter;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import javax.imageio.ImageIO;
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

    /** {@code n} 16x16 PNGs per class for classes "a" (dark) and "b" (bright) under {@code root/split/class/}. */
    private static void writeSplit(Path root, String split, int n, long seed) throws Exception {
        Random r = new Random(seed);
        for (String cls : List.of("a", "b")) {
            Path folder = Files.createDirectories(root.resolve(split).resolve(cls));
            for (int i = 0; i < n; i++) {
                BufferedImage img = new BufferedImage(16, 16, BufferedImage.TYPE_INT_RGB);
                int base = cls.equals("a") ? 40 : 200;
                for (int y = 0; y < 16; y++) {
                    for (int x = 0; x < 16; x++) {
                        int v = Math.max(0, Math.min(255, base + r.nextInt(41) - 20));
                        img.setRGB(x, y, (v << 16) | (v << 8) | v);
                    }
                }
                ImageIO.write(img, "png", folder.resolve(String.format("%04d.png", i)).toFile());
            }
        }
    }
}
