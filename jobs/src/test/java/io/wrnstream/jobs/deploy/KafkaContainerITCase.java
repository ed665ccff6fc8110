package io.wrnstream.jobs.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import io.wrnstream.jobs.testing.Topics;
import io.wrnstream.jobs.TrainingJob;
import io.wrnstream.jobs.config.JobConfig;
import io.wrnstream.jobs.eval.Evaluation;
import io.wrnstream.kafka.format.ImageRecord;
import io.wrnstream.kafka.format.ImageRecordSerde;
import io.wrnstream.kafka.ingest.Ingest;
import io.wrnstream.kafka.ingest.IngestOptions;
import io.wrnstream.jobs.publish.KafkaIo;
import io.wrnstream.jobs.train.TrainerEvent;
import io.wrnstream.model.data.Sample;
import io.wrnstream.model.data.Split;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.SplittableRandom;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.kafka.KafkaContainer;
import org.testcontainers.utility.DockerImageName;

/**
 * The pipeline against a real Kafka broker in a container (the image docker-compose.yml runs): ingest a few hundred
 * images, run the job bounded on a MiniCluster, read the evaluations back. Runs only where Docker is available; the
 * in-process broker tests (TrainingJobITCase) remain the default everywhere else.
 */
@EnabledIf(value = "dockerAvailable", disabledReason = "Docker is not available: the Testcontainers run against apache/kafka:4.2.0 "
        + "is skipped (TrainingJobITCase covers the same pipeline with the in-process broker)")
class KafkaContainerITCase {
    private static final String KAFKA_IMAGE = "apache/kafka:4.2.0";
    private static final int TRAIN_IMAGES = 256;
    private static final int HELD_OUT = 64;

    @RegisterExtension
    static final MiniClusterExtension FLINK = new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
            .setNumberTaskManagers(1).setNumberSlotsPerTaskManager(2).build());

    private static KafkaContainer kafka;

    @TempDir
    Path dir;

    /** Evaluated before anything of this class starts (no MiniCluster, no container without Docker). */
    static boolean dockerAvailable() {
        return DockerClientFactory.instance().isDockerAvailable();
    }

    @BeforeAll
    static void startKafka() {
        kafka = new KafkaContainer(DockerImageName.parse(KAFKA_IMAGE));
        kafka.start();
    }

    @AfterAll
    static void stopKafka() {
        if (kafka != null) kafka.stop();
    }

    @Test
    void trainsAndEvaluatesAgainstAKafkaContainer() throws Exception {
        String bootstrap = kafka.getBootstrapServers();
        publish(bootstrap, "tc.train", Split.TEST, TRAIN_IMAGES, 1);
        publish(bootstrap, "tc.test", Split.TEST, HELD_OUT, 7);
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
            admin.createTopics(List.of(new NewTopic("tc.results", 1, (short) 1), new NewTopic("tc.dlq", 1, (short) 1),
                    new NewTopic("tc.events", 1, (short) 1))).all().get();
        }
        JobConfig c = JobConfig.of(Map.ofEntries(
                Map.entry("bootstrap-servers", bootstrap), Map.entry("topic.train", "tc.train"), Map.entry("topic.test", "tc.test"),
                Map.entry("topic.results", "tc.results"), Map.entry("topic.dead-letter", "tc.dlq"),
                Map.entry("model", "wrn-10-1"), Map.entry("batch-size", "32"), Map.entry("snapshot.steps", "4"),
                Map.entry("eval.limit", String.valueOf(HELD_OUT)), Map.entry("optim.epoch-size", String.valueOf(TRAIN_IMAGES)),
                Map.entry("checkpoint.interval", "500ms"), Map.entry("checkpoint.dir", dir.resolve("checkpoints").toUri().toString()),
                Map.entry("state.backend", "rocksdb"), Map.entry("source.bounded", "true"), Map.entry("source.start", "earliest"),
                Map.entry("model.output", dir.resolve("final.wrnmodel").toString())));

        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(TrainingJob.flinkConfiguration(c));
        new TrainingJob(c).defineWorkflow(env, KafkaIo.trainingSource(c),
                new TrainingJob.Sinks(KafkaIo.resultsSink(c), KafkaIo.deadLetterSink(c), KafkaIo.eventSink(c, "tc.events")));
        env.execute("KafkaContainerITCase");

        List<Evaluation> evals = Topics.readCommitted(bootstrap, "tc.results").stream().map(r -> Evaluation.fromJson(Topics.utf8(r.value()))).toList();
        assertThat(evals).isNotEmpty().allSatisfy(e -> {
            assertThat(e.testError()).isBetween(0.0, 1.0);
            assertThat(e.images()).isEqualTo(HELD_OUT);
        });
        TrainerEvent end = Topics.readCommitted(bootstrap, "tc.events").stream().map(r -> TrainerEvent.fromJson(Topics.utf8(r.value())))
                .filter(e -> e.kind() == TrainerEvent.Kind.FINISHED).findFirst().orElseThrow();
        assertThat(end.imagesSeen()).isEqualTo(TRAIN_IMAGES);
        assertThat(dir.resolve("final.wrnmodel")).exists();
    }

    /** CIFAR-10 through the Ingest API when the shared dataset is present, else random images (clearly synthetic). */
    private static void publish(String bootstrap, String topic, Split split, int n, long seed) throws Exception {
        Path cifar = Path.of(System.getProperty("wrn.datasets", "../shared/datasets"), "cifar10-jpeg");
        if (Files.isDirectory(cifar)) {
            new Ingest(IngestOptions.builder(cifar, split, topic, bootstrap).limit(n).seed(seed).partitions(2).build()).run();
            return;
        }
        ImageRecordSerde serde = new ImageRecordSerde(10);
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
            SplittableRandom r = new SplittableRandom(seed);
            for (int i = 0; i < n; i++) {
                byte[] px = new byte[3 * 32 * 32];
                r.nextBytes(px);
                ImageRecord rec = ImageRecord.raw(new Sample(i, r.nextInt(10), 3, 32, 32, px), 0);
                producer.send(new ProducerRecord<>(topic, rec.key(), serde.encode(rec))).get();
            }
        }
    }


}
