package io.wrnstream.jobs.metrics;

import static io.wrnstream.jobs.metrics.MetricNames.*;
import static org.assertj.core.api.Assertions.assertThat;

import io.wrnstream.jobs.testing.Images;
import io.wrnstream.jobs.TrainingJob;
import io.wrnstream.jobs.config.JobConfig;
import io.wrnstream.embedded.EmbeddedKafka;
import io.wrnstream.kafka.format.RecordFormatException.Reason;
import io.wrnstream.jobs.publish.KafkaIo;
import io.wrnstream.model.data.Sample;
import io.wrnstream.model.data.Split;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The job on a local MiniCluster built from {@link TrainingJob#flinkConfiguration} (so with the Prometheus reporter
 * the embedded demo gets) against the in-process broker, with a tiny WRN-10-1 and batch 16, reading an unbounded
 * topic. While it runs, the test scrapes the reporter (JobManager and TaskManager share the MiniCluster's one metric
 * registry, hence one port) until the trainer has stepped, an evaluation and a checkpoint completed, and then checks
 * that every metric the Grafana dashboard queries is in the scrape, with sane values.
 */
class MetricsITCase {
    private static final Logger LOG = LoggerFactory.getLogger(MetricsITCase.class);
    private static final int TRAIN_IMAGES = 192;
    private static final int HELD_OUT = 64;
    private static final Duration DEADLINE = Duration.ofSeconds(90);

    private static EmbeddedKafka kafka;
    private static Path cifar;

    @TempDir
    Path dir;

    @BeforeAll
    static void startKafka() {
        kafka = EmbeddedKafka.start();
        cifar = Images.sharedCifar();
    }

    @AfterAll
    static void stopKafka() {
        if (kafka != null) kafka.close();
    }

    @Test
    void exportsEveryMetricTheDashboardQueriesWithSaneValues() throws Exception {
        String p = "metrics";
        Images.publish(kafka, cifar, p + ".train", Split.TEST, TRAIN_IMAGES, 1);
        Images.publish(kafka, cifar, p + ".test", Split.TEST, HELD_OUT, 7);
        Images.publishPoison(kafka.bootstrapServers(), p + ".train");
        kafka.createTopics(1, p + ".results", p + ".dlq", p + ".models");
        int port = freePort();
        JobConfig c = config(p, port);

        Set<String> queried = new TreeSet<>(PromQl.dashboardMetricNames(PromQl.readDashboard(
                PromQl.repoRoot().resolve("docker/grafana/dashboards/wrn-stream.json"))));
        queried.removeAll(GPU_ONLY); // exported only with ND4J's CUDA backend; this test runs on the CPU one

        StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(TrainingJob.flinkConfiguration(c));
        new TrainingJob(c).defineWorkflow(env, KafkaIo.trainingSource(c), TrainingJob.Sinks.kafka(c));
        long t0 = System.nanoTime();
        JobClient job = env.executeAsync("MetricsITCase");
        PrometheusScrape s;
        boolean rateSeen = false;
        try {
            HttpClient http = HttpClient.newHttpClient();
            URI url = URI.create("http://localhost:" + port + "/metrics");
            long deadline = System.nanoTime() + DEADLINE.toNanos();
            while (true) {
                s = scrape(http, url);
                rateSeen |= s.max(prometheus(IMAGES_PER_SECOND)) > 0;
                // Training done (so the trainer's gauges are still), one evaluation, one checkpoint, the poison counted.
                boolean ready = rateSeen && s.max(prometheus(IMAGES_SEEN)) == TRAIN_IMAGES && s.max(prometheus(EVALUATIONS)) >= 1
                        && s.max(FLINK_COMPLETED_CHECKPOINTS) >= 1 && deadLetters(s, Reason.LABEL_OUT_OF_RANGE) >= 1
                        && deadLetters(s, Reason.EMPTY_VALUE) >= 1 && s.max(prometheus(MODEL_PUBLISHES)) >= 1
                        && s.names().containsAll(queried);
                if (ready || System.nanoTime() > deadline) break;
                assertThat(job.getJobStatus().get().isGloballyTerminalState()).as("the job ended before its metrics were complete").isFalse();
                // Polling an HTTP endpoint: the job offers nothing to wait on for "metrics reported".
                TimeUnit.MILLISECONDS.sleep(250);
            }
            LOG.info("metrics complete after {} s; exported: {}", String.format("%.1f", (System.nanoTime() - t0) / 1e9), s.names());

            Set<String> missing = new TreeSet<>(queried);
            missing.removeAll(s.names());
            assertThat(missing).as("metrics the dashboard queries but the job does not export (scrape has %s)", s.names()).isEmpty();
            assertThat(s.names()).as("GPU metrics only with a CUDA backend").doesNotContainAnyElementsOf(GPU_ONLY);
            dashboardQueriesReturnDataOnARealPrometheus(port);

            // Trainer.
            assertThat(s.max(prometheus(STEP))).isEqualTo(TRAIN_IMAGES / 16);
            assertThat(s.max(prometheus(IMAGES_SEEN))).isEqualTo(TRAIN_IMAGES);
            assertThat(s.max(prometheus(EPOCHS))).as("optim.epoch-size = the training images").isEqualTo(1.0);
            assertThat(s.max(prometheus(LEARNING_RATE))).isEqualTo(0.1);
            assertThat(s.max(prometheus(TRAIN_LOSS))).isFinite().isPositive();
            assertThat(s.max(prometheus(TRAIN_LOSS_SMOOTHED))).isFinite().isPositive();
            assertThat(s.max(prometheus(TRAIN_ACCURACY))).isBetween(0.0, 1.0);
            assertThat(s.max(prometheus(TRAIN_ACCURACY_SMOOTHED))).isBetween(0.0, 1.0);
            assertThat(rateSeen).as("images/s into the trainer was positive in some scrape").isTrue();
            assertThat(s.max(prometheus(STEP_TIME_MS) + "_count")).as("one sample per step").isEqualTo(TRAIN_IMAGES / 16);
            assertThat(s.of(prometheus(STEP_TIME_MS))).extracting(x -> x.labels().get("quantile")).contains("0.5", "0.95", "0.99");
            assertThat(s.max(prometheus(MODEL_VERSION))).isGreaterThanOrEqualTo(1);
            assertThat(s.max(prometheus(SNAPSHOTS))).isGreaterThanOrEqualTo(1);
            assertThat(s.max(prometheus(SNAPSHOT_TIME_MS) + "_count")).isGreaterThanOrEqualTo(1);
            assertThat(s.of(prometheus(KIND, NON_FINITE_STEPS))).extracting(x -> x.labels().get(KIND))
                    .containsExactlyInAnyOrder("nan", "inf", "gradient");
            assertThat(s.max(prometheus(KIND, NON_FINITE_STEPS))).as("no NaN/Inf steps on real images").isZero();
            assertThat(s.max(prometheus(CHECKPOINT_STATE_BYTES))).isPositive();
            assertThat(s.of(prometheus(TRAIN_LOSS))).as("one trainer").hasSize(1)
                    .allSatisfy(x -> assertThat(x.labels()).containsEntry("job_name", "MetricsITCase").containsKey("operator_name"));

            // Evaluator.
            assertThat(s.max(prometheus(TEST_ERROR))).isBetween(0.0, 1.0);
            assertThat(s.max(prometheus(TEST_LOSS))).isFinite().isPositive();
            assertThat(s.max(prometheus(EVALUATED_MODEL_VERSION))).isBetween(1.0, s.max(prometheus(MODEL_VERSION)));
            assertThat(s.max(prometheus(EVALUATED_IMAGES_SEEN))).isPositive().isLessThanOrEqualTo(s.max(prometheus(IMAGES_SEEN)));
            assertThat(s.max(prometheus(EVALUATION_TIME_MS) + "_count")).isGreaterThanOrEqualTo(1);
            assertThat(s.max(prometheus(HELD_OUT_IMAGES))).isEqualTo(HELD_OUT);

            // Model publisher: a model written to the store per completed checkpoint that holds a new one.
            assertThat(s.max(prometheus(MODEL_PUBLISHES))).isGreaterThanOrEqualTo(1);
            assertThat(s.max(prometheus(PUBLISHED_MODEL_VERSION))).isGreaterThanOrEqualTo(1);
            assertThat(s.max(prometheus(PUBLISHED_MODEL_BYTES))).isPositive();
            assertThat(s.max(prometheus(MODEL_PUBLISH_FAILURES))).isZero();

            // Decoder: every reason has a series; the poison records are counted under theirs.
            assertThat(s.of(prometheus(REASON, DEAD_LETTERS))).extracting(x -> x.labels().get(REASON)).containsAll(
                    java.util.Arrays.stream(Reason.values()).map(Reason::name).toList());
            assertThat(deadLetters(s, Reason.EMPTY_VALUE)).isEqualTo(1);
            assertThat(deadLetters(s, Reason.LABEL_OUT_OF_RANGE)).isEqualTo(1);
            assertThat(s.samples().stream().filter(x -> x.name().equals(prometheus(DECODED_IMAGES))).mapToDouble(x -> x.value()).sum())
                    .as("decoded over both decoder subtasks").isEqualTo(TRAIN_IMAGES);

            // Flink's own metrics, from the JobManager and the TaskManager through the same endpoint.
            assertThat(s.max(FLINK_RESTARTS)).isZero();
            assertThat(s.max(FLINK_LAST_CHECKPOINT_DURATION)).isGreaterThanOrEqualTo(0);
            assertThat(s.max(FLINK_LAST_CHECKPOINT_SIZE)).isPositive();
            // Triggers refused while tasks are still deploying count as failed checkpoints, so only completed ones are pinned.
            assertThat(s.max(FLINK_COMPLETED_CHECKPOINTS)).isGreaterThanOrEqualTo(1);
            assertThat(s.max(FLINK_BACKPRESSURED)).isBetween(0.0, 1000.0);
            assertThat(s.of(FLINK_PENDING_RECORDS)).isNotEmpty();
            assertThat(s.of(FLINK_KAFKA_RECORDS_LAG_MAX)).isNotEmpty();
        } finally {
            job.cancel().get(30, TimeUnit.SECONDS);
            try {
                job.getJobExecutionResult().get(30, TimeUnit.SECONDS);
            } catch (Exception expected) {
                // cancelled
            }
            LOG.info("MetricsITCase job ran {} s", String.format("%.1f", (System.nanoTime() - t0) / 1e9));
        }
    }

    /**
     * Every panel query of the dashboard, run by a real Prometheus scraping the job, returns data (the GPU panels
     * excepted). Skipped with a note when no {@code prometheus} binary is installed (Debian: {@code apt-get install prometheus}).
     */
    private void dashboardQueriesReturnDataOnARealPrometheus(int reporterPort) throws Exception {
        Path binary = RealPrometheus.binary();
        if (binary == null) {
            LOG.warn("NOTE: no prometheus binary on the PATH (Debian package 'prometheus'): the dashboard's PromQL is not run on a real Prometheus");
            return;
        }
        Map<String, String> queries = PromQl.dashboardQueries(PromQl.readDashboard(PromQl.repoRoot().resolve("docker/grafana/dashboards/wrn-stream.json")));
        try (RealPrometheus prom = RealPrometheus.start(binary, "localhost:" + reporterPort, dir.resolve("prometheus"))) {
            prom.awaitScrapes(3, Duration.ofSeconds(60));
            Map<String, String> empty = new java.util.TreeMap<>();
            int run = 0;
            for (Map.Entry<String, String> q : queries.entrySet()) {
                if (GPU_ONLY.stream().anyMatch(q.getValue()::contains)) continue;
                // What Grafana substitutes: every job, and a range that holds several 1 s scrapes.
                String promql = q.getValue().replace("$job", ".*").replace("$__rate_interval", "30s");
                if (promql.startsWith("label_values(")) promql = promql.substring("label_values(".length(), promql.lastIndexOf(','));
                run++;
                if (prom.query(promql).isEmpty()) empty.put(q.getKey(), promql);
            }
            LOG.info("dashboard PromQL on Prometheus ({}): {} queries run, {} without data", binary, run, empty.size());
            assertThat(empty).as("dashboard queries that return no data on a real Prometheus scraping the job").isEmpty();
        }
    }

    private static double deadLetters(PrometheusScrape s, Reason r) {
        return s.of(prometheus(REASON, DEAD_LETTERS)).stream().filter(x -> r.name().equals(x.labels().get(REASON)))
                .mapToDouble(PrometheusScrape.Sample::value).sum();
    }

    /** One scrape; an empty one while the reporter's HTTP server is not up yet. */
    private static PrometheusScrape scrape(HttpClient http, URI url) throws InterruptedException {
        try {
            return PrometheusScrape.fetch(http, url);
        } catch (IOException notYet) {
            return new PrometheusScrape(java.util.List.of());
        }
    }

    private JobConfig config(String p, int port) {
        return JobConfig.of(Map.ofEntries(
                Map.entry("bootstrap-servers", kafka.bootstrapServers()),
                Map.entry("topic.train", p + ".train"), Map.entry("topic.test", p + ".test"),
                Map.entry("topic.results", p + ".results"), Map.entry("topic.dead-letter", p + ".dlq"),
                Map.entry("group-id", p + "-trainer"), Map.entry("results.transactional-id-prefix", p + "-results"),
                Map.entry("model", "wrn-10-1"), Map.entry("batch-size", "16"), Map.entry("snapshot.steps", "2"),
                Map.entry("eval.limit", String.valueOf(HELD_OUT)), Map.entry("eval.batch-size", "64"),
                Map.entry("optim.epoch-size", String.valueOf(TRAIN_IMAGES)), Map.entry("checkpoint.interval", "500ms"),
                Map.entry("checkpoint.dir", dir.resolve("checkpoints").toUri().toString()), Map.entry("state.backend", "hashmap"),
                Map.entry("source.bounded", "false"), Map.entry("source.start", "earliest"), Map.entry("parallelism", "2"),
                Map.entry("progress.steps", "1"), Map.entry("model.output", dir.resolve("final.model").toString()),
                Map.entry("topic.model-updates", p + ".models"), Map.entry("model.store", dir.resolve("models").toUri().toString()),
                Map.entry("metrics.prometheus.port", String.valueOf(port))));
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }



}
