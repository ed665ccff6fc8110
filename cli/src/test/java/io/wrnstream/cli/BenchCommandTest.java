package io.wrnstream.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.withinPercentage;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
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

    /** Runs bench with {@code args}; returns the exit code and the last stdout line, or the error output. */
    private static String[] bench(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        StringWriter err = new StringWriter();
        PrintStream saved = System.out;
        int code;
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        try {
            CommandLine cli = Cli.configure(new CommandLine(new BenchCommand()));
            cli.setErr(new PrintWriter(err, true));
            code = cli.execute(args);
        } finally {
            System.setOut(saved);
        }
        String[] lines = out.toString(StandardCharsets.UTF_8).strip().split("\n");
        return new String[] {Integer.toString(code), lines[lines.length - 1], err.toString().strip()};
    }

    private static boolean pythonHasTorch() {
        try {
            Process p = new ProcessBuilder("/usr/bin/python3", "-c", "import torch.distributed").redirectErrorStream(true).start();
            return p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (Exception e) {
            return false;
        }
    }

    @Test
    void twoWorkerRanksReportTheExchangeAndIdenticalReplicas() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(pythonHasTorch(), "skipped: /usr/bin/python3 has no PyTorch (apt-get install python3-torch)");
        String[] r = bench("--model", "wrn-10-1", "--batch", "4", "--steps", "2", "--warmup", "1", "--threads", "2",
                "--engine", "worker", "--precision", "fp32", "--ranks", "2", "--device", "cpu");
        assertThat(r[0]).as(r[2]).isEqualTo("0");
        JsonNode json = new ObjectMapper().readTree(r[1]);
        assertThat(json.get("format").asText()).isEqualTo("wrn-stream.bench/1");
        assertThat(json.get("ranks").asInt()).isEqualTo(2);
        assertThat(json.get("batch").asInt()).as("the global batch").isEqualTo(4);
        assertThat(json.get("threads_per_rank").asInt()).isEqualTo(1);
        assertThat(json.get("exchange_ms_p50").asDouble()).isPositive().isLessThan(json.get("step_ms_p50").asDouble());
        assertThat(json.get("replica_crcs")).hasSize(2);
        assertThat(json.get("replica_crcs").get(0).asText()).matches("[0-9a-f]{8}").isEqualTo(json.get("replica_crcs").get(1).asText());
        assertThat(json.get("replicas_identical").asBoolean()).isTrue();
        assertThat(json.get("rank_devices").get(0).asText()).startsWith("cpu");
    }

    @Test
    void ranksNeedCpuOrCudaAndABatchTheySplitEvenly() {
        assertThat(bench("--model", "wrn-10-1", "--batch", "4", "--engine", "worker", "--ranks", "2"))
                .containsExactly("2", "", "error: Invalid value 'auto' for --device with --ranks 2: must be cpu (Gloo) or cuda (rank r on cuda:r, NCCL)");
        assertThat(bench("--model", "wrn-10-1", "--batch", "5", "--engine", "worker", "--ranks", "2", "--device", "cpu"))
                .containsExactly("2", "", "error: Invalid value 5 for --batch with --ranks 2: must be a multiple of the ranks (each rank trains batch/ranks images)");
        assertThat(bench("--model", "wrn-10-1", "--ranks", "0")).containsExactly("2", "", "error: Invalid value 0 for --ranks: must be >= 1");
        assertThat(bench("--model", "wrn-10-1", "--device", "gpu")).containsExactly("2", "", "error: Invalid value 'gpu' for --device: must be auto, cpu, cuda or cuda:N");
    }
}
