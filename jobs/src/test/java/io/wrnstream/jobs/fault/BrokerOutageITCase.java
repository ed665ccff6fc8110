package io.wrnstream.jobs.fault;

import static org.assertj.core.api.Assertions.assertThat;

import io.wrnstream.jobs.TrainingJob;
import io.wrnstream.jobs.config.JobConfig;
import io.wrnstream.embedded.EmbeddedKafka;
import io.wrnstream.jobs.eval.Evaluation;
import io.wrnstream.jobs.publish.KafkaIo;
import io.wrnstream.jobs.testing.Images;
import io.wrnstream.jobs.testing.JvmProcess;
import io.wrnstream.jobs.testing.Topics;
import io.wrnstream.jobs.train.TrainerEvent;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The broker in its own JVM ({@link EmbeddedKafka#main}) is stopped for 30 s under a running bounded job (WRN-10-1,
 * batch 16, synthetic images) and started again on the same log and port: every image is trained exactly once.
 */
class BrokerOutageITCase {
    private static final Logger LOG = LoggerFactory.getLogger(BrokerOutageITCase.class);
    private static final int TRAIN_IMAGES = 320;
    private static final Duration OUTAGE = Duration.ofSeconds(30);

    @RegisterExtension
    static final MiniClusterExtension FLINK = new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
            .setNumberTaskManagers(1).setNumberSlotsPerTaskManager(2).build());

    @TempDir
    Path dir;

    @Test
    void jobRidesOutAThirtySecondBrokerOutageWithoutLossOrDuplicates() throws Exception {
        int brokerPort = freePort(), controllerPort = freePort();
        String bootstrap = "127.0.0.1:" + brokerPort;
        Process broker = startBroker(dir.resolve("kafka"), brokerPort, controllerPort);
        try {
            try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap, "default.api.timeout.ms", 60_000))) {
                admin.createTopics(List.of(new NewTopic("out.train", 2, (short) 1), new NewTopic("out.test", 1, (short) 1),
                        new NewTopic("out.results", 1, (short) 1), new NewTopic("out.dlq", 1, (short) 1),
                        new NewTopic("out.events", 1, (short) 1))).all().get(60, TimeUnit.SECONDS);
            }
            Images.publishSynthetic(bootstrap, "out.train", TRAIN_IMAGES, 1);
            Images.publishSynthetic(bootstrap, "out.test", 32, 7);
            JobConfig c = JobConfig.of(Map.ofEntries(Map.entry("bootstrap-servers", bootstrap),
                    Map.entry("topic.train", "out.train"), Map.entry("topic.test", "out.test"), Map.entry("topic.results", "out.results"),
                    Map.entry("topic.dead-letter", "out.dlq"), Map.entry("group-id", "out-trainer"),
                    Map.entry("results.transactional-id-prefix", "out-results"), Map.entry("model", "wrn-10-1"), Map.entry("batch-size", "16"),
                    Map.entry("snapshot.steps", "5"), Map.entry("eval.limit", "32"), Map.entry("optim.epoch-size", String.valueOf(TRAIN_IMAGES)),
                    Map.entry("checkpoint.interval", "500ms"), Map.entry("checkpoint.dir", dir.resolve("checkpoints").toUri().toString()),
                    Map.entry("source.bounded", "true"), Map.entry("source.start", "earliest"), Map.entry("state.backend", "hashmap"),
                    Map.entry("progress.steps", "1"), Map.entry("model.output", dir.resolve("final.model").toString()),
                    Map.entry("model.publish", "false"), Map.entry("restart.delay", "1s")));
            StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(TrainingJob.flinkConfiguration(c));
            env.configure(TrainingJob.flinkConfiguration(c));
            new TrainingJob(c).defineWorkflow(env, KafkaIo.trainingSource(c), new TrainingJob.Sinks(KafkaIo.resultsSink(c),
                    KafkaIo.deadLetterSink(c), KafkaIo.eventSink(c, "out.events")));
            JobClient job = env.executeAsync("BrokerOutageITCase");

            awaitSteps(bootstrap, 2, Duration.ofMinutes(3));
            long t0 = System.nanoTime();
            broker.destroy();
            assertThat(broker.waitFor(60, TimeUnit.SECONDS)).as("broker stopped").isTrue();
            // The fault itself: the broker stays away this long (not a synchronisation wait).
            Thread.sleep(OUTAGE.toMillis());
            broker = startBroker(dir.resolve("kafka"), brokerPort, controllerPort);
            LOG.info("broker back after {} s", String.format("%.1f", (System.nanoTime() - t0) / 1e9));
            job.getJobExecutionResult().get(5, TimeUnit.MINUTES);

            List<TrainerEvent> events = Topics.readCommitted(bootstrap, "out.events").stream()
                    .map(r -> TrainerEvent.fromJson(Topics.utf8(r.value()))).toList();
            TrainerEvent end = events.stream().filter(e -> e.kind() == TrainerEvent.Kind.FINISHED).reduce((a, b) -> b).orElseThrow();
            long restores = events.stream().filter(e -> e.kind() == TrainerEvent.Kind.RESTORED).count();
            LOG.info("broker outage of {} s: {} of {} images trained, {} restore(s)", OUTAGE.toSeconds(), end.imagesSeen(), TRAIN_IMAGES, restores);
            assertThat(end.imagesSeen()).as("every image trained exactly once").isEqualTo(TRAIN_IMAGES);
            List<Evaluation> evals = Topics.readCommitted(bootstrap, "out.results").stream().map(r -> Evaluation.fromJson(Topics.utf8(r.value()))).toList();
            assertThat(evals).extracting(Evaluation::step).as("committed evaluations: none lost to the outage, none twice").isSorted()
                    .doesNotHaveDuplicates();
            assertThat(evals.get(evals.size() - 1).imagesSeen()).isEqualTo(TRAIN_IMAGES);
        } finally {
            broker.destroy();
            broker.waitFor(30, TimeUnit.SECONDS);
        }
    }

    private static Process startBroker(Path logDir, int brokerPort, int controllerPort) throws Exception {
        return JvmProcess.broker(logDir, brokerPort, controllerPort);
    }

    private static void awaitSteps(String bootstrap, int steps, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            long n = Topics.readCommitted(bootstrap, "out.events").stream().map(r -> TrainerEvent.fromJson(Topics.utf8(r.value())))
                    .filter(e -> e.kind() == TrainerEvent.Kind.STEP).count();
            if (n >= steps) return;
            Thread.sleep(200); // polling interval
        }
        throw new AssertionError("the job trained fewer than " + steps + " steps within " + timeout);
    }

    private static int freePort() throws Exception {
        return JvmProcess.freePort();
    }
}
