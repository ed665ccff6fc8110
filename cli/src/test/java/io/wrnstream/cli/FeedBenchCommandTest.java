package io.wrnstream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The feed benchmark end to end on a small image folder: every image reaches the no-op trainer and a rate is reported. */
class FeedBenchCommandTest {
    @TempDir
    Path dir;

    @Test
    void feedsEveryImageToTheNoOpTrainerAndReportsItsRate() throws Exception {
        Path data = ImageFolders.dataset(dir.resolve("data"), 120, 10);
        PrintStream stdout = System.out;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int code;
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            code = Main.commandLine().execute("bench-feed", "--data", data.toString(), "--images", "120", "--parallelism", "1", "--rounds", "1");
        } finally {
            System.setOut(stdout);
        }
        assertThat(code).isZero();
        // Only JSON lines are the command's (log4j's status logger may write its own complaints to stdout in tests).
        java.util.List<String> lines = out.toString(StandardCharsets.UTF_8).lines().filter(l -> l.startsWith("{")).toList();
        assertThat(lines).hasSize(1);
        JsonNode n = new ObjectMapper().readTree(lines.get(0));
        assertThat(n.get("format").asText()).isEqualTo(FeedBenchCommand.FORMAT);
        assertThat(n.get("images").asLong()).isEqualTo(120);
        assertThat(n.get("images_per_sec").asDouble()).isPositive();
        assertThat(n.get("bytes_per_image_into_trainer").asInt()).isEqualTo(3 * 16 * 16);
    }

    @Test
    void refusesABadParallelismNamingIt() {
        java.io.StringWriter err = new java.io.StringWriter();
        picocli.CommandLine cl = Main.commandLine().setErr(new java.io.PrintWriter(err));
        assertThat(cl.execute("bench-feed", "--data", dir.toString(), "--parallelism", "0")).isEqualTo(2);
        assertThat(err.toString()).contains("Invalid value 0 in --parallelism: an integer in [1, 64]");
    }
}
