package io.wrnstream.jobs.testing;

import io.wrnstream.embedded.EmbeddedKafka;
import io.wrnstream.kafka.format.ImageEncoding;
import io.wrnstream.kafka.format.ImageRecord;
import io.wrnstream.kafka.format.ImageRecordSerde;
import io.wrnstream.kafka.ingest.Ingest;
import io.wrnstream.kafka.ingest.IngestOptions;
import io.wrnstream.model.data.Sample;
import io.wrnstream.model.data.Split;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import java.util.SplittableRandom;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Training images and poison records for the integration tests' topics. */
public final class Images {
    private static final Logger LOG = LoggerFactory.getLogger(Images.class);

    private Images() {}

    /** The shared CIFAR-10 JPEG zips (system property {@code wrn.datasets}), or null with a logged note when absent. */
    public static Path sharedCifar() {
        Path d = Path.of(System.getProperty("wrn.datasets", "../shared/datasets"), "cifar10-jpeg");
        if (Files.isDirectory(d)) return d;
        LOG.warn("NOTE: {} not found: the streaming tests train on a SYNTHETIC set of random images", d);
        return null;
    }

    /** {@code n} CIFAR-10 images of {@code split} through the Ingest API when {@code cifar} is given, else random ones. */
    public static void publish(EmbeddedKafka kafka, Path cifar, String topic, Split split, int n, long seed) throws Exception {
        if (cifar != null) {
            new Ingest(IngestOptions.builder(cifar, split, topic, kafka.bootstrapServers()).limit(n).seed(seed).partitions(2).build()).run();
            return;
        }
        kafka.createTopics(2, topic);
        publishSynthetic(kafka.bootstrapServers(), topic, n, seed);
    }

    /** {@code n} random 3x32x32 raw images with labels 0..9 and ids 0..n-1 to the existing {@code topic}. */
    public static void publishSynthetic(String bootstrapServers, String topic, int n, long seed) throws Exception {
        publishSynthetic(bootstrapServers, topic, n, seed, null);
    }

    /** As {@link #publishSynthetic(String, String, int, long)}, every record to {@code partition} (null: by key). */
    public static void publishSynthetic(String bootstrapServers, String topic, int n, long seed, Integer partition) throws Exception {
        ImageRecordSerde serde = new ImageRecordSerde(10);
        try (KafkaProducer<byte[], byte[]> producer = producer(bootstrapServers)) {
            SplittableRandom r = new SplittableRandom(seed);
            for (int i = 0; i < n; i++) {
                byte[] px = new byte[3 * 32 * 32];
                r.nextBytes(px);
                ImageRecord rec = ImageRecord.raw(new Sample(i, r.nextInt(10), 3, 32, 32, px), 0);
                producer.send(new ProducerRecord<>(topic, partition, rec.key(), serde.encode(rec))).get();
            }
        }
    }

    /** One record of each kind of poison: empty, unknown version, corrupt JPEG, wrong size, label out of range. */
    public static void publishPoison(String bootstrapServers, String topic) throws Exception {
        ImageRecordSerde serde = new ImageRecordSerde();
        byte[] jpegGarbage = "definitely not a jpeg".getBytes(StandardCharsets.UTF_8);
        ImageRecord corrupt = new ImageRecord(900_001, 0, 1, 32, 32, 3, ImageEncoding.JPEG, jpegGarbage);
        ImageRecord wrongSize = ImageRecord.raw(new Sample(900_002, 1, 1, 28, 28, new byte[28 * 28]), 0);
        ImageRecord badLabel = ImageRecord.raw(new Sample(900_003, 12, 3, 32, 32, new byte[3 * 32 * 32]), 0);
        byte[] futureVersion = serde.encode(ImageRecord.raw(new Sample(900_004, 1, 3, 32, 32, new byte[3 * 32 * 32]), 0));
        futureVersion[2] = 9;
        try (KafkaProducer<byte[], byte[]> producer = producer(bootstrapServers)) {
            producer.send(new ProducerRecord<>(topic, ImageRecordSerde.key(900_000), new byte[0])).get();
            producer.send(new ProducerRecord<>(topic, corrupt.key(), serde.encode(corrupt))).get();
            producer.send(new ProducerRecord<>(topic, wrongSize.key(), serde.encode(wrongSize))).get();
            producer.send(new ProducerRecord<>(topic, badLabel.key(), serde.encode(badLabel))).get();
            producer.send(new ProducerRecord<>(topic, ImageRecordSerde.key(900_004), futureVersion)).get();
        }
    }

    private static KafkaProducer<byte[], byte[]> producer(String bootstrapServers) {
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrapServers);
        return new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
    }
}
