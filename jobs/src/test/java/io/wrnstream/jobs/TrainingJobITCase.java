package io.wrnstream.jobs;

import static org.assertj.core.api.Assertions.assertThat;

import io.wrnstream.jobs.testing.Images;
import io.wrnstream.jobs.testing.Topics;
import io.wrnstream.jobs.config.JobConfig;
import io.wrnstream.jobs.decode.DeadLetter;
import io.wrnstream.embedded.EmbeddedKafka;
import io.wrnstream.jobs.eval.Evaluation;
import io.wrnstream.kafka.format.ImageRecordSerde;
import io.wrnstream.jobs.publish.KafkaIo;
import io.wrnstream.jobs.train.TrainerEvent;
import io.wrnstream.model.data.Split;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
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
    private static final int TRAIN_IMAGES = 192;
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

        JobConfig c = config(p, Map.of("state.backend", "rocksdb", "debug.fail-after-checkpoint", "true"));
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
