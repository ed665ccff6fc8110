package io.wrnstream.jobs;

import static org.assertj.core.api.Assertions.assertThat;

import io.wrnstream.embedded.EmbeddedKafka;
import io.wrnstream.jobs.config.JobConfig;
import io.wrnstream.jobs.publish.KafkaIo;
import io.wrnstream.jobs.testing.Images;
import io.wrnstream.jobs.testing.Topics;
import io.wrnstream.jobs.train.TrainerEvent;
import io.wrnstream.model.data.Split;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.JobManagerOptions;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The job with {@code trainer.parallelism=2}: two libtorch ranks in one MiniCluster, gradients all-reduced over Gloo on
 * 127.0.0.1, real CIFAR-10 images (synthetic when the shared dataset is absent), an injected failure after the first
 * checkpoint and a full restart from it.
 */
class DataParallelTrainingITCase {
    private static final Logger LOG = LoggerFactory.getLogger(DataParallelTrainingITCase.class);
    /** Images per test; the failure tests hold for a checkpoint every 4 steps, so their failures fire however fast. */
    private static final int TRAIN_IMAGES = 192;
    private static final int HELD_OUT = 64;

    @RegisterExtension
    static final MiniClusterExtension FLINK = new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
            .setConfiguration(fullFailover()).setNumberTaskManagers(1).setNumberSlotsPerTaskManager(2).build());

    private static Configuration fullFailover() {
        Configuration c = new Configuration();
        c.set(JobManagerOptions.EXECUTION_FAILOVER_STRATEGY, "full");
        return c;
    }

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
    void twoRanksTrainEveryImageExactlyOnceAcrossARestart() throws Exception {
        String p = "dp";
        kafka.createTopics(2, p + ".train");
        Images.publish(kafka, cifar, p + ".train", Split.TEST, TRAIN_IMAGES, 1);
        Images.publish(kafka, cifar, p + ".test", Split.TEST, HELD_OUT, 7);
        kafka.createTopics(1, p + ".results", p + ".dlq", p + ".events");

        JobConfig c = config(p, Map.of("debug.fail-after-checkpoint", "true", "debug.checkpoint-every-steps", "4"));
        long t0 = System.nanoTime();
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(TrainingJob.flinkConfiguration(c));
        env.configure(TrainingJob.flinkConfiguration(c));
        new TrainingJob(c).defineWorkflow(env, KafkaIo.trainingSource(c),
                new TrainingJob.Sinks(KafkaIo.resultsSink(c), KafkaIo.deadLetterSink(c), KafkaIo.eventSink(c, p + ".events")));
        env.execute("DataParallelTrainingITCase " + p);
        LOG.info("data-parallel job took {} s", String.format("%.1f", (System.nanoTime() - t0) / 1e9));

        List<TrainerEvent> events = Topics.readCommitted(kafka.bootstrapServers(), p + ".events").stream()
                .map(r -> TrainerEvent.fromJson(Topics.utf8(r.value()))).toList();
        TrainerEvent restored = events.stream().filter(e -> e.kind() == TrainerEvent.Kind.RESTORED).findFirst()
                .orElseThrow(() -> new AssertionError("the ranks were not restored: " + events));
        TrainerEvent checkpointed = events.stream()
                .filter(e -> e.kind() == TrainerEvent.Kind.CHECKPOINT && e.checkpointId() == restored.checkpointId()).findFirst().orElseThrow();
        assertThat(restored.step()).isEqualTo(checkpointed.step()).isPositive();
        assertThat(restored.stateDigest()).as("every rank restored the model the last rank stored").isEqualTo(checkpointed.stateDigest());
        // The event sink is at-least-once (a replayed unaligned checkpoint may repeat an event); repeats agree.
        Map<Long, Long> crcByCheckpoint = new HashMap<>();
        for (TrainerEvent e : events) {
            if (e.kind() != TrainerEvent.Kind.CHECKPOINT) continue;
            Long before = crcByCheckpoint.putIfAbsent(e.checkpointId(), e.stateDigest());
            assertThat(before == null ? e.stateDigest() : before).as("one model per checkpoint " + e.checkpointId()).isEqualTo(e.stateDigest());
        }
        assertThat(crcByCheckpoint).hasSizeGreaterThanOrEqualTo(2);
        TrainerEvent end = events.stream().filter(e -> e.kind() == TrainerEvent.Kind.FINISHED).reduce((a, b) -> b).orElseThrow();
        assertThat(end.imagesSeen()).as("images seen equals images published: nothing lost, nothing trained twice").isEqualTo(TRAIN_IMAGES);
        long inputs = 0;
        for (var r : Topics.readCommitted(kafka.bootstrapServers(), p + ".train")) inputs += TrainerEvent.digestOf(java.nio.ByteBuffer.wrap(r.key()).getLong());
        assertThat(end.trainedDigest()).as("digest of the trained sample ids equals the inputs'").isEqualTo(inputs);
        assertThat(Topics.readCommitted(kafka.bootstrapServers(), p + ".results")).isNotEmpty();
        assertThat(dir.resolve("final.model")).exists();
    }

    @Test
    void aRankWhosePartitionIsEmptyStillTrainsWithTheOther() throws Exception {
        String p = "dp-empty";
        kafka.createTopics(2, p + ".train");
        // Every record in partition 0: with forward edges from the source (2 partitions, parallelism 2) rank 1 gets nothing.
        Images.publishSynthetic(kafka.bootstrapServers(), p + ".train", TRAIN_IMAGES, 5, 0);
        Images.publish(kafka, cifar, p + ".test", Split.TEST, HELD_OUT, 7);
        kafka.createTopics(1, p + ".results", p + ".dlq", p + ".events");

        JobConfig c = config(p, Map.of("source.forward", "auto"));  // 2 partitions over parallelism 2: forward
        assertThat(KafkaIo.trainPartitions(c, java.time.Duration.ofSeconds(10))).isEqualTo(2);
        double seconds = run(c, p);

        List<TrainerEvent> events = events(p);
        TrainerEvent end = events.stream().filter(e -> e.kind() == TrainerEvent.Kind.FINISHED).reduce((a, b) -> b).orElseThrow();
        assertThat(end.imagesSeen()).as("every image trained once although one rank's input was empty").isEqualTo(TRAIN_IMAGES);
        assertThat(end.trainedDigest()).isEqualTo(inputDigest(p));
        assertThat(end.step()).as("steps of at most one rank's share (8 of 16): the idle rank stepped empty on its flush timer")
                .isGreaterThanOrEqualTo(TRAIN_IMAGES / 8L);
        LOG.info("empty partition: {} images in {} steps, {} s", end.imagesSeen(), end.step(), String.format("%.1f", seconds));
    }

    @Test
    void aRankThatDiesFailsTheGroupOverWellWithinTheGroupTimeout() throws Exception {
        String p = "dp-dead";
        Images.publish(kafka, cifar, p + ".train", Split.TEST, TRAIN_IMAGES, 3);
        Images.publish(kafka, cifar, p + ".test", Split.TEST, HELD_OUT, 7);
        kafka.createTopics(1, p + ".results", p + ".dlq", p + ".events");

        // Only rank 1 throws (after the first completed checkpoint); rank 0 is then in or entering an all-reduce with it.
        long timeoutSeconds = 120;
        JobConfig c = config(p, Map.of("debug.fail-after-checkpoint", "true", "debug.fail-rank", "1", "debug.checkpoint-every-steps", "4",
                "trainer.group-timeout", timeoutSeconds + "s"));
        run(c, p);

        List<TrainerEvent> events = events(p);
        TrainerEvent restored = events.stream().filter(e -> e.kind() == TrainerEvent.Kind.RESTORED).findFirst()
                .orElseThrow(() -> new AssertionError("the ranks were not restored: " + events));
        TrainerEvent lastBefore = events.stream().filter(e -> e.kind() != TrainerEvent.Kind.RESTORED && e.wallMs() <= restored.wallMs())
                .reduce((a, b) -> b).orElseThrow();
        double gap = (restored.wallMs() - lastBefore.wallMs()) / 1000.0;
        LOG.info("dead rank: {} s from the last event before the failure to the restore (group timeout {} s)", String.format("%.1f", gap), timeoutSeconds);
        // The surviving rank learns of its dead peer from the closed connection, not by waiting out its timeout.
        assertThat(gap).as("seconds from the failure to the restored group").isLessThan(timeoutSeconds / 2.0);
        TrainerEvent end = events.stream().filter(e -> e.kind() == TrainerEvent.Kind.FINISHED).reduce((a, b) -> b).orElseThrow();
        assertThat(end.imagesSeen()).isEqualTo(TRAIN_IMAGES);
        assertThat(end.trainedDigest()).isEqualTo(inputDigest(p));
    }

    /** Runs the job to its end; returns its wall time in seconds. */
    private double run(JobConfig c, String p) throws Exception {
        long t0 = System.nanoTime();
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(TrainingJob.flinkConfiguration(c));
        env.configure(TrainingJob.flinkConfiguration(c));
        new TrainingJob(c).defineWorkflow(env, KafkaIo.trainingSource(c),
                new TrainingJob.Sinks(KafkaIo.resultsSink(c), KafkaIo.deadLetterSink(c), KafkaIo.eventSink(c, p + ".events")));
        env.execute("DataParallelTrainingITCase " + p);
        return (System.nanoTime() - t0) / 1e9;
    }

    private List<TrainerEvent> events(String p) {
        return Topics.readCommitted(kafka.bootstrapServers(), p + ".events").stream().map(r -> TrainerEvent.fromJson(Topics.utf8(r.value()))).toList();
    }

    /** The order-free digest of the sample ids published to {@code p.train}. */
    private long inputDigest(String p) {
        long inputs = 0;
        for (var r : Topics.readCommitted(kafka.bootstrapServers(), p + ".train")) inputs += TrainerEvent.digestOf(java.nio.ByteBuffer.wrap(r.key()).getLong());
        return inputs;
    }

    private JobConfig config(String p, Map<String, String> extra) {
        Map<String, String> m = new HashMap<>(Map.ofEntries(
                Map.entry("bootstrap-servers", kafka.bootstrapServers()),
                Map.entry("topic.train", p + ".train"), Map.entry("topic.test", p + ".test"),
                Map.entry("topic.results", p + ".results"), Map.entry("topic.dead-letter", p + ".dlq"),
                Map.entry("group-id", p + "-trainer"), Map.entry("results.transactional-id-prefix", p + "-results"),
                Map.entry("model", "wrn-10-1"), Map.entry("engine", "libtorch"), Map.entry("precision", "fp32"),
                Map.entry("batch-size", "16"), Map.entry("snapshot.steps", "4"),
                Map.entry("trainer.parallelism", "2"), Map.entry("trainer.flush-interval", "300ms"), Map.entry("trainer.group-timeout", "90s"),
                Map.entry("trainer.group-host", "127.0.0.1"), Map.entry("restart.attempts", "3"), Map.entry("restart.delay", "100ms"),
                Map.entry("eval.limit", String.valueOf(HELD_OUT)), Map.entry("eval.batch-size", "64"),
                Map.entry("optim.epoch-size", String.valueOf(TRAIN_IMAGES)), Map.entry("checkpoint.interval", "300ms"),
                Map.entry("checkpoint.dir", dir.resolve("checkpoints").toUri().toString()), Map.entry("state.backend", "hashmap"),
                Map.entry("source.bounded", "true"), Map.entry("source.start", "earliest"), Map.entry("parallelism", "2"),
                Map.entry("progress.steps", "1"), Map.entry("model.output", dir.resolve("final.model").toString())));
        m.putAll(extra);
        return JobConfig.of(m);
    }
}
