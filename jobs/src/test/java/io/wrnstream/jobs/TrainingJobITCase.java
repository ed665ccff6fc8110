package io.wrnstream.jobs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.wrnstream.jobs.testing.Images;
import java.util.concurrent.TimeUnit;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.core.execution.JobClient;
import io.wrnstream.jobs.testing.Poison;
import io.wrnstream.jobs.testing.Topics;
import io.wrnstream.jobs.config.JobConfig;
import io.wrnstream.jobs.decode.DeadLetter;
import io.wrnstream.embedded.EmbeddedKafka;
import io.wrnstream.jobs.eval.Evaluation;
import io.wrnstream.kafka.format.ImageRecordSerde;
import io.wrnstream.jobs.publish.KafkaIo;
import io.wrnstream.jobs.train.TrainerEvent;
import io.wrnstream.model.data.Split;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The whole job on a real MiniCluster (parallelism 2) against a real in-process Kafka broker, with a tiny WRN-10-1
 * and batch 16. Training data: a few hundred CIFAR-10 test images when the shared dataset is present, else a
 * clearly labelled synthetic set of random images.
 */
class TrainingJobITCase {
    private static final Logger LOG = LoggerFactory.getLogger(TrainingJobITCase.class);
    /**
     * Training images per test: 768, so that on a quiet machine a checkpoint completes before training ends (with 192
     * the run could end first, and the after-checkpoint failures would never fire).
     */
    private static final int TRAIN_IMAGES = 768;
    private static final int HELD_OUT = 64;

    @RegisterExtension
    static final MiniClusterExtension FLINK = new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
            .setNumberTaskManagers(1).setNumberSlotsPerTaskManager(2).build());

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
    void trainsEvaluatesAndSendsPoisonRecordsToTheDeadLetterTopic() throws Exception {
        String p = "e2e";
        Images.publish(kafka, cifar, p + ".train", Split.TEST, TRAIN_IMAGES, 1);
        Images.publish(kafka, cifar, p + ".test", Split.TEST, HELD_OUT, 7);
        Images.publishPoison(kafka.bootstrapServers(), p + ".train");
        kafka.createTopics(1, p + ".results", p + ".dlq", p + ".events");

        JobConfig c = config(p, Map.of("state.backend", "hashmap"));
        runToEnd(c, p + ".events");

        List<Evaluation> evals = Topics.readCommitted(kafka.bootstrapServers(), p + ".results").stream().map(r -> Evaluation.fromJson(Topics.utf8(r.value()))).toList();
        assertThat(evals).isNotEmpty();
        assertThat(evals).allSatisfy(e -> {
            assertThat(e.testError()).isBetween(0.0, 1.0);
            assertThat(e.testLoss()).isFinite().isPositive();
            assertThat(e.images()).isEqualTo(HELD_OUT);
        });
        assertThat(evals).extracting(Evaluation::step).isSorted().doesNotHaveDuplicates();
        assertThat(evals.get(evals.size() - 1).imagesSeen()).isEqualTo(TRAIN_IMAGES);

        Map<String, byte[]> reasons = new HashMap<>();
        for (ConsumerRecord<byte[], byte[]> r : Topics.readCommitted(kafka.bootstrapServers(), p + ".dlq")) {
            reasons.put(Topics.utf8(r.headers().lastHeader(DeadLetter.REASON_HEADER).value()), r.value());
        }
        assertThat(reasons).containsOnlyKeys("EMPTY_VALUE", "UNKNOWN_VERSION", "UNDECODABLE_IMAGE", "BAD_SHAPE", "LABEL_OUT_OF_RANGE");
        assertThat(reasons.get("UNKNOWN_VERSION")).as("original value kept").hasSizeGreaterThan(ImageRecordSerde.HEADER_BYTES);

        List<TrainerEvent> events = events(p + ".events");
        TrainerEvent end = events.stream().filter(e -> e.kind() == TrainerEvent.Kind.FINISHED).findFirst().orElseThrow();
        assertThat(end.imagesSeen()).as("every valid record trained on, the poison ones skipped").isEqualTo(TRAIN_IMAGES);
        assertThat(events).filteredOn(e -> e.kind() == TrainerEvent.Kind.CHECKPOINT).as("completed checkpoints hold trainer state")
                .isNotEmpty().allSatisfy(e -> assertThat(e.stateDigest()).isNotZero());
        assertThat(Path.of(dir.resolve("final.model").toString())).exists();
    }

    @Test
    void restoresModelAndOffsetsAfterFailure() throws Exception {
        String p = "restore";
        Images.publish(kafka, cifar, p + ".train", Split.TEST, TRAIN_IMAGES, 1);
        Images.publish(kafka, cifar, p + ".test", Split.TEST, HELD_OUT, 7);
        kafka.createTopics(1, p + ".results", p + ".dlq", p + ".events");

        JobConfig c = config(p, Map.of("state.backend", "rocksdb", "debug.fail-after-checkpoint", "true", "debug.checkpoint-every-steps", "12"));
        runToEnd(c, p + ".events");

        List<TrainerEvent> events = events(p + ".events");
        TrainerEvent restored = events.stream().filter(e -> e.kind() == TrainerEvent.Kind.RESTORED).findFirst()
                .orElseThrow(() -> new AssertionError("the trainer was not restored: " + events));
        TrainerEvent checkpointed = events.stream()
                .filter(e -> e.kind() == TrainerEvent.Kind.CHECKPOINT && e.checkpointId() == restored.checkpointId()).findFirst().orElseThrow();
        assertThat(restored.step()).isEqualTo(checkpointed.step()).isPositive();
        assertThat(restored.imagesSeen()).isEqualTo(checkpointed.imagesSeen());
        assertThat(restored.stateDigest()).as("parameters and optimiser state equal the checkpointed ones").isEqualTo(checkpointed.stateDigest());
        TrainerEvent end = events.stream().filter(e -> e.kind() == TrainerEvent.Kind.FINISHED).reduce((a, b) -> b).orElseThrow();
        assertThat(end.imagesSeen()).as("offsets resumed: nothing skipped, nothing trained twice").isEqualTo(TRAIN_IMAGES);
        assertThat(Topics.readCommitted(kafka.bootstrapServers(), p + ".results")).isNotEmpty();
    }

    @Test
    void poisonCorpusGoesToTheDeadLetterTopicWithItsReasonsWithoutARestart() throws Exception {
        String p = "poison";
        int good = 64;
        Images.publish(kafka, cifar, p + ".train", Split.TEST, good, 3);
        Images.publish(kafka, cifar, p + ".test", Split.TEST, HELD_OUT, 7);
        List<Poison.Kind> corpus = Poison.publish(kafka.bootstrapServers(), p + ".train");
        kafka.createTopics(1, p + ".results", p + ".events");
        // A dead-letter topic that takes less than the largest poison: its dead letter must be cut, not fail the sink.
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
            admin.createTopics(List.of(new NewTopic(p + ".dlq", 1, (short) 1).configs(Map.of("max.message.bytes", String.valueOf(DLQ_MAX_BYTES)))))
                    .all().get();
        }
        Images.publish(kafka, cifar, p + ".train", Split.TEST, good, 4);  // good images after the poison too

        JobConfig c = config(p, Map.of("state.backend", "hashmap", "optim.epoch-size", String.valueOf(2 * good), "restart.attempts", "0"));
        long heapBefore = peakHeapReset();
        runToEnd(c, p + ".events");
        LOG.info("poison corpus of {} kinds: peak heap {} MB (before {} MB)", corpus.size(), peakHeapReset() >> 20, heapBefore >> 20);

        List<ConsumerRecord<byte[], byte[]>> dlq = Topics.readCommitted(kafka.bootstrapServers(), p + ".dlq");
        assertThat(dlq).as("one dead letter per poison record, restart.attempts=0 so no restart either").hasSize(corpus.size());
        List<String> reasons = dlq.stream().map(r -> Topics.utf8(r.headers().lastHeader(DeadLetter.REASON_HEADER).value())).sorted().toList();
        assertThat(reasons).isEqualTo(corpus.stream().map(Poison.Kind::reason).sorted().toList());
        assertThat(dlq).allSatisfy(r -> assertThat(r.serializedKeySize() + r.serializedValueSize()).isLessThan(DLQ_MAX_BYTES));
        assertThat(dlq).filteredOn(r -> r.headers().lastHeader(DeadLetter.TRUNCATED_HEADER) != null)
                .as("the two TOO_LARGE values and the UNKNOWN_VERSION one above the DLQ limit say they were cut").hasSize(3);

        List<TrainerEvent> events = events(p + ".events");
        assertThat(events).noneMatch(e -> e.kind() == TrainerEvent.Kind.RESTORED);
        TrainerEvent end = events.stream().filter(e -> e.kind() == TrainerEvent.Kind.FINISHED).findFirst().orElseThrow();
        assertThat(end.imagesSeen()).as("every good record trained exactly once").isEqualTo(2L * good);
    }

    @Test
    void failsForGoodWithTheReasonWhenRestartsRunOut() throws Exception {
        String p = "doomed";
        Images.publish(kafka, cifar, p + ".train", Split.TEST, 32, 1);
        kafka.createTopics(1, p + ".results", p + ".dlq", p + ".events");
        JobConfig c = config(p, Map.of("state.backend", "hashmap", "eval.dataset", dir.resolve("missing-cifar").toString(),
                "restart.attempts", "2", "restart.delay", "50ms"));

        long t0 = System.nanoTime();
        Throwable failure = catchThrowable(() -> runToEnd(c, p + ".events"));

        assertThat(failure).isNotNull();
        assertThat(TrainingJob.describeFailure(failure))
                .startsWith("The training job failed after its restarts ran out (restart.attempts): ")
                .contains("missing-cifar");
        assertThat((System.nanoTime() - t0) / 1e9).as("seconds until the job gave up").isLessThan(60);
    }

    @Test
    void boundedRunWithThreeInjectedFailuresEndsWithTheSameParametersAsWithout() throws Exception {
        String p = "exact";
        // One partition and parallelism 1: the trainer sees the records in offset order, so two runs are comparable.
        kafka.createTopics(1, p + ".train");
        Images.publish(kafka, cifar, p + ".train", Split.TEST, TRAIN_IMAGES, 5);
        Images.publish(kafka, cifar, p + ".test", Split.TEST, HELD_OUT, 7);
        // Checkpoints every 3 s: the trainer runs past the injection points between two of them, so each injected
        // failure must hold training until a checkpoint of its attempt completes (it once ran to the end instead).
        long[] crc = new long[2];
        int[] restores = new int[2];
        for (int run = 0; run < 2; run++) {
            String q = p + run;
            kafka.createTopics(1, q + ".results", q + ".dlq", q + ".events");
            Map<String, String> extra = new HashMap<>(Map.of("state.backend", "hashmap", "parallelism", "1", "topic.results", q + ".results",
                    "topic.dead-letter", q + ".dlq", "group-id", q + "-trainer", "results.transactional-id-prefix", q + "-results",
                    "restart.delay", "100ms", "snapshot.steps", "100", "checkpoint.interval", "3s"));
            if (run == 1) extra.put("debug.fail-at-steps", "3,7,10");
            runToEnd(config(p, extra), q + ".events");
            List<TrainerEvent> events = events(q + ".events");
            crc[run] = events.stream().filter(e -> e.kind() == TrainerEvent.Kind.FINISHED).reduce((a, b) -> b).orElseThrow().stateDigest();
            restores[run] = (int) events.stream().filter(e -> e.kind() == TrainerEvent.Kind.RESTORED).mapToLong(TrainerEvent::checkpointId)
                    .distinct().count();
        }
        LOG.info("bit-exact recovery: final state crc {} without failures, {} with three ({} restores from checkpoints)", crc[0], crc[1], restores[1]);
        assertThat(restores).as("restores from a checkpoint without / with the injected failures").containsExactly(0, 3);
        assertThat(crc[1]).as("final parameters and optimiser state (CRC) after three failures").isEqualTo(crc[0]);
    }

    @Test
    void boundedRunRestoredFromARetainedCheckpointEnds() throws Exception {
        String p = "resume";
        Images.publish(kafka, cifar, p + ".train", Split.TEST, TRAIN_IMAGES, 1);
        Images.publish(kafka, cifar, p + ".test", Split.TEST, HELD_OUT, 7);
        kafka.createTopics(1, p + ".results", p + ".dlq", p + ".events");
        // The first job fails for good after its first checkpoint, which stays retained.
        JobConfig first = config(p, Map.of("state.backend", "hashmap", "debug.fail-after-checkpoint", "true", "restart.attempts", "0",
                "debug.checkpoint-every-steps", "12"));
        assertThat(catchThrowable(() -> runToEnd(first, p + ".events"))).isNotNull();
        String checkpoint = RetainedCheckpoints.latest(first.get(JobConfig.CHECKPOINT_DIR)).orElseThrow();

        // A new job restored from it must end by itself, as the unrestored one does (FLINK-31006 / FLINK-33466).
        JobConfig again = config(p, Map.of("state.backend", "hashmap"));
        Configuration flink = TrainingJob.flinkConfiguration(again);
        flink.set(StateRecoveryOptions.SAVEPOINT_PATH, checkpoint);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(flink);
        env.configure(flink);
        new TrainingJob(again).defineWorkflow(env, KafkaIo.trainingSource(again),
                new TrainingJob.Sinks(KafkaIo.resultsSink(again), KafkaIo.deadLetterSink(again), KafkaIo.eventSink(again, p + ".events")));
        JobClient job = env.executeAsync("restored " + p);
        try {
            job.getJobExecutionResult().get(120, TimeUnit.SECONDS);
        } finally {
            if (!job.getJobStatus().get().isGloballyTerminalState()) job.cancel().get();
        }
        List<TrainerEvent> events = events(p + ".events");
        assertThat(events).anyMatch(e -> e.kind() == TrainerEvent.Kind.RESTORED);
        TrainerEvent end = events.stream().filter(e -> e.kind() == TrainerEvent.Kind.FINISHED).reduce((a, b) -> b).orElseThrow();
        assertThat(end.imagesSeen()).as("the restored run trained the rest, nothing twice").isEqualTo(TRAIN_IMAGES);

        // Rerunning the same command without --restore would start a new model from the committed offsets: refused.
        assertThatThrownBy(() -> new TrainingJob(again.with("source.start", "committed")).execute())
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("group-id=" + p + "-trainer has committed offsets on ")
                .hasMessageContaining("--restore latest");
    }

    private static final int DLQ_MAX_BYTES = 64 << 10;

    private static long peakHeapReset() {
        long peak = 0;
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            if (pool.getType() == MemoryType.HEAP && pool.getPeakUsage() != null) {
                peak += pool.getPeakUsage().getUsed();
                pool.resetPeakUsage();
            }
        }
        return peak;
    }

    private JobConfig config(String p, Map<String, String> extra) {
        Map<String, String> m = new HashMap<>(Map.ofEntries(
                Map.entry("bootstrap-servers", kafka.bootstrapServers()),
                Map.entry("topic.train", p + ".train"), Map.entry("topic.test", p + ".test"),
                Map.entry("topic.results", p + ".results"), Map.entry("topic.dead-letter", p + ".dlq"),
                Map.entry("group-id", p + "-trainer"), Map.entry("results.transactional-id-prefix", p + "-results"),
                Map.entry("model", "wrn-10-1"), Map.entry("batch-size", "16"), Map.entry("snapshot.steps", "4"),
                Map.entry("eval.limit", String.valueOf(HELD_OUT)), Map.entry("eval.batch-size", "64"),
                Map.entry("optim.epoch-size", String.valueOf(TRAIN_IMAGES)), Map.entry("checkpoint.interval", "300ms"),
                Map.entry("checkpoint.dir", dir.resolve("checkpoints").toUri().toString()),
                Map.entry("source.bounded", "true"), Map.entry("source.start", "earliest"), Map.entry("parallelism", "2"),
                Map.entry("progress.steps", "1"), Map.entry("model.output", dir.resolve("final.model").toString())));
        m.putAll(extra);
        return JobConfig.of(m);
    }

    private static void runToEnd(JobConfig c, String eventsTopic) throws Exception {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(TrainingJob.flinkConfiguration(c));
        env.configure(TrainingJob.flinkConfiguration(c));
        new TrainingJob(c).defineWorkflow(env, KafkaIo.trainingSource(c),
                new TrainingJob.Sinks(KafkaIo.resultsSink(c), KafkaIo.deadLetterSink(c), KafkaIo.eventSink(c, eventsTopic)));
        long t0 = System.nanoTime();
        env.execute("TrainingJobITCase " + c.get(JobConfig.TOPIC_TRAIN));
        LOG.info("job on {} took {} s", c.get(JobConfig.TOPIC_TRAIN), String.format("%.1f", (System.nanoTime() - t0) / 1e9));
    }




    private static List<TrainerEvent> events(String topic) {
        return Topics.readCommitted(kafka.bootstrapServers(), topic).stream().map(r -> TrainerEvent.fromJson(Topics.utf8(r.value()))).toList();
    }


}
