package io.wrnstream.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.withinPercentage;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** {@code bench}'s last line is the JSON that bin/bench-vs-pytorch and the README tables read. */
class BenchCommandTest {

    @Test
    void lastLineIsJsonNamingEngineAndPrecisionWithMedianAndFastestStep() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream saved = System.out;
        int code;
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        try {
            code = Cli.configure(new CommandLine(new BenchCommand())).execute("--model", "wrn-10-1", "--batch", "4",
                    "--steps", "3", "--warmup", "1", "--threads", "1", "--engine", "libtorch", "--precision", "fp32");
        } finally {
            System.setOut(saved);
        }
        assertThat(code).isZero();
        String[] lines = out.toString(StandardCharsets.UTF_8).strip().split("\n");
        JsonNode json = new ObjectMapper().readTree(lines[lines.length - 1]);
        assertThat(json.get("format").asText()).isEqualTo("wrn-stream.bench/1");
        assertThat(json.get("engine").asText()).isEqualTo("libtorch");
        assertThat(json.get("precision").asText()).isEqualTo("fp32");
        assertThat(json.get("model").asText()).isEqualTo("wrn-10-1");
        assertThat(json.get("steps").asInt()).isEqualTo(3);
        double min = json.get("step_ms_min").asDouble(), p50 = json.get("step_ms_p50").asDouble();
        assertThat(min).isPositive().isLessThanOrEqualTo(p50);
        assertThat(json.get("images_per_sec").asDouble()).isCloseTo(4 / (p50 / 1000), withinPercentage(2));
        assertThat(json.get("peak_rss_mb").asLong()).isPositive();
    }
}
