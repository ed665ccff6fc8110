package io.wrnstream.jobs.update;

import io.wrnstream.kafka.update.ModelFiles;
import io.wrnstream.kafka.update.ModelUpdate;
import io.wrnstream.kafka.update.ModelUpdateTopic;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.wrnstream.jobs.testing.Topics;
import io.wrnstream.jobs.TrainingJob;
import io.wrnstream.jobs.config.JobConfig;
import io.wrnstream.embedded.EmbeddedKafka;
import io.wrnstream.kafka.format.ImageCodec;
import io.wrnstream.kafka.format.ImageEncoding;
import io.wrnstream.kafka.format.ImageRecord;
import io.wrnstream.kafka.format.ImageRecordSerde;
import io.wrnstream.jobs.publish.KafkaIo;
import io.wrnstream.serve.ModelFollower;
import io.wrnstream.serve.ModelServer;
import io.wrnstream.serve.ServeConfig;
import io.wrnstream.jobs.train.TrainerEvent;
import io.wrnstream.model.data.Sample;
import io.wrnstream.model.io.ModelFile;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Model publication on a real MiniCluster against the in-process broker (tiny WRN-10-1, batch 16, synthetic images,
 * checkpoints every 300 ms), with a failure injected right after a model update was emitted and before its checkpoint
 * completed; then {@code serve} follows the topic and answers with the last model.
 */
class ModelUpdatesITCase {
    private static final int TRAIN_IMAGES = 256;
    private static final int HELD_OUT = 64;
    private static final ObjectMapper JSON = new ObjectMapper();

    @RegisterExtension
    static final MiniClusterExtension FLINK = new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
            .setNumberTaskManagers(1).setNumberSlotsPerTaskManager(2).build());

    private static EmbeddedKafka kafka;

    @TempDir
    Path dir;

    @BeforeAll
    static void startKafka() {
        kafka = EmbeddedKafka.start();
    }

    @AfterAll
    static void stopKafka() {
        if (kafka != null) kafka.close();
    }

    @Test
    void publishesOnlyModelsOfCompletedCheckpointsExactlyOnceAndServeFollowsThem() throws Exception {
        String p = "mu";
        syntheticImages(p + ".train", TRAIN_IMAGES, 1);
        syntheticImages(p + ".test", HELD_OUT, 7);
        kafka.createTopics(1, p + ".results", p + ".dlq", p + ".events");
        try (Admin admin = Admin.create(kafka.clientProperties())) {
            ModelUpdateTopic.ensure(admin, p + ".models", (short) 1, EmbeddedKafka.TIMEOUT);
            Config topicConfig = admin.describeConfigs(List.of(new ConfigResource(ConfigResource.Type.TOPIC, p + ".models")))
                    .all().get(30, TimeUnit.SECONDS).values().iterator().next();
            assertThat(topicConfig.get("cleanup.policy").value()).isEqualTo("compact");
        }
        JobConfig c = config(p);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(TrainingJob.flinkConfiguration(c));
        env.configure(TrainingJob.flinkConfiguration(c));
        new TrainingJob(c).defineWorkflow(env, KafkaIo.trainingSource(c), new TrainingJob.Sinks(KafkaIo.resultsSink(c), KafkaIo.deadLetterSink(c),
                KafkaIo.eventSink(c, p + ".events"), KafkaIo.modelUpdateSink(c)));
        env.execute("ModelUpdatesITCase");

        List<TrainerEvent> events = Topics.readCommitted(kafka.bootstrapServers(), p + ".events").stream().map(r -> TrainerEvent.fromJson(Topics.utf8(r.value()))).toList();
        assertThat(events).as("the injected failure restored the job").anyMatch(e -> e.kind() == TrainerEvent.Kind.RESTORED);

        List<ConsumerRecord<byte[], byte[]>> records = Topics.readCommitted(kafka.bootstrapServers(), p + ".models");
        List<ModelUpdate> updates = records.stream().map(r -> ModelUpdate.fromJson(Topics.utf8(r.value()))).toList();
        assertThat(records).allSatisfy(r -> assertThat(Topics.utf8(r.key())).isEqualTo("wrn-10-1"));
        assertThat(updates).as("committed updates").hasSizeGreaterThanOrEqualTo(2);
        assertThat(updates).extracting(ModelUpdate::version).as("versions 1, 2, 3... without a rolled-back one repeated")
                .containsExactlyElementsOf(java.util.stream.LongStream.rangeClosed(1, updates.size()).boxed().toList());
        assertThat(updates).extracting(ModelUpdate::step).isSorted().doesNotHaveDuplicates();
        ModelUpdate last = updates.get(updates.size() - 1);
        assertThat(last.imagesSeen()).as("the final model is published (with a checkpoint, or at the end of input: -1)").isEqualTo(TRAIN_IMAGES);
        for (ModelUpdate u : updates) {
            byte[] file = ModelFiles.read(u.location(), u.size(), u.sha256()); // exists, size and SHA-256 as announced
            assertThat(ModelFile.read(file, u.location()).provenance().steps()).isEqualTo(u.step());
            if (u.testError() != null) {
                assertThat(u.testError()).isBetween(0.0, 1.0);
                assertThat(u.testErrorStep()).isLessThanOrEqualTo(u.step());
            }
        }
        Set<String> announced = updates.stream().map(u -> Path.of(URI.create(u.location())).getFileName().toString()).collect(Collectors.toSet());
        List<String> stored;
        try (Stream<Path> s = Files.list(dir.resolve("models").resolve("wrn-10-1"))) {
            stored = s.map(f -> f.getFileName().toString()).sorted().toList();
        }
        assertThat(stored).noneMatch(n -> n.endsWith(".inprogress")).containsAll(announced);
        assertThat(stored).as("the rolled-back update's file stays an orphan that no committed event names")
                .anyMatch(n -> !announced.contains(n));

        // serve follows the compacted topic from the beginning and ends on the newest model.
        try (ModelServer server = ModelServer.start(new ServeConfig("127.0.0.1", 0, 2, ServeConfig.DEFAULT_MAX_REQUEST_BYTES, null));
             ModelFollower follower = new ModelFollower(server, p + ".models", "wrn-10-1", kafka.clientProperties())) {
            await(Duration.ofSeconds(60), () -> server.current() != null && server.current().version() == last.version());
            assertThat(server.current().sha256()).isEqualTo(last.sha256());
            byte[] png = ImageCodec.encode(new Sample(1, 0, 3, 32, 32, new byte[3 * 32 * 32]), ImageEncoding.PNG);
            HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port()
                    + "/v1/predict?k=2")).POST(HttpRequest.BodyPublishers.ofByteArray(png)).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            JsonNode n = JSON.readTree(r.body());
            assertThat(n.get("model_version").asLong()).isEqualTo(last.version());
            assertThat(n.get("predictions")).hasSize(2);
        }
    }

    @Test
    void freshJobStartsAboveTheHighestCommittedVersionOfItsModelId() throws Exception {
        String topic = "mv.models";
        try (Admin admin = Admin.create(kafka.clientProperties())) {
            ModelUpdateTopic.ensure(admin, topic, (short) 1, EmbeddedKafka.TIMEOUT);
        }
        Properties pp = kafka.clientProperties();
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(pp, new ByteArraySerializer(), new ByteArraySerializer())) {
            // The newest record by offset is v5: a follower taking the last record would go back from v9.
            for (String[] kv : new String[][] {{"m", "3"}, {"m", "9"}, {"other", "20"}, {"m", "5"}}) {
                ModelUpdate u = new ModelUpdate(kv[0], Long.parseLong(kv[1]), 1, 1, 0, null, null, "file:///x", "00", 1, 1, 1);
                producer.send(new ProducerRecord<>(topic, kv[0].getBytes(StandardCharsets.UTF_8), u.toJson().getBytes(StandardCharsets.UTF_8))).get();
            }
        }
        JobConfig c = JobConfig.of(Map.of("bootstrap-servers", kafka.bootstrapServers(), "topic.model-updates", topic, "model.id", "m"));
        assertThat(ModelVersions.newestOnTopic(c, Duration.ofSeconds(30))).isEqualTo(9);
        assertThat(ModelVersions.newestOnTopic(c.with("model.id", "new"), Duration.ofSeconds(30))).isZero();
        assertThat(ModelVersions.newestOnTopic(c.with("topic.model-updates", "mv.none"), Duration.ofSeconds(30))).isZero();
    }

    private JobConfig config(String p) {
        Map<String, String> m = new HashMap<>(Map.ofEntries(
                Map.entry("bootstrap-servers", kafka.bootstrapServers()),
                Map.entry("topic.train", p + ".train"), Map.entry("topic.test", p + ".test"),
                Map.entry("topic.results", p + ".results"), Map.entry("topic.dead-letter", p + ".dlq"),
                Map.entry("topic.model-updates", p + ".models"), Map.entry("model.store", dir.resolve("models").toUri().toString()),
                Map.entry("debug.fail-after-publish", "true"), Map.entry("debug.checkpoint-every-steps", "4"), Map.entry("state.backend", "hashmap"),
                Map.entry("group-id", p + "-trainer"), Map.entry("results.transactional-id-prefix", p + "-results"),
                Map.entry("model", "wrn-10-1"), Map.entry("batch-size", "16"), Map.entry("snapshot.steps", "4"),
                Map.entry("eval.limit", String.valueOf(HELD_OUT)), Map.entry("eval.batch-size", "64"),
                Map.entry("optim.epoch-size", String.valueOf(TRAIN_IMAGES)), Map.entry("checkpoint.interval", "300ms"),
                Map.entry("checkpoint.dir", dir.resolve("checkpoints").toUri().toString()),
                Map.entry("source.bounded", "true"), Map.entry("source.start", "earliest"), Map.entry("parallelism", "2"),
                Map.entry("model.output", dir.resolve("final.model").toString())));
        return JobConfig.of(m);
    }

    /** Random 3x32x32 images (this test is about publication, not accuracy). */
    private static void syntheticImages(String topic, int n, long seed) throws Exception {
        kafka.createTopics(2, topic);
        ImageRecordSerde serde = new ImageRecordSerde(10);
        Properties props = kafka.clientProperties();
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer())) {
            SplittableRandom r = new SplittableRandom(seed);
            for (int i = 0; i < n; i++) {
                byte[] px = new byte[3 * 32 * 32];
                r.nextBytes(px);
                ImageRecord rec = ImageRecord.raw(new Sample(i, r.nextInt(10), 3, 32, 32, px), 0);
                producer.send(new ProducerRecord<>(topic, rec.key(), serde.encode(rec)));
            }
            producer.flush();
        }
    }


    /** Polls {@code condition} until it holds or {@code timeout} passes (a bounded wait, not synchronisation by sleeping). */
    private static void await(Duration timeout, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError("condition not met within " + timeout);
            TimeUnit.MILLISECONDS.sleep(50);
        }
    }

}
