package io.wrnstream.cli.ingest;

import io.wrnstream.cli.IngestCommand;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.wrnstream.embedded.EmbeddedKafka;
import io.wrnstream.kafka.ingest.Ingest;
import io.wrnstream.kafka.format.ImageCodec;
import io.wrnstream.kafka.format.ImageEncoding;
import io.wrnstream.kafka.format.ImageHeaders;
import io.wrnstream.kafka.format.ImageRecord;
import io.wrnstream.kafka.format.ImageRecordSerde;
import io.wrnstream.model.data.Sample;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IngestITCase {

    private static final ImageRecordSerde SERDE = new ImageRecordSerde();
    private static EmbeddedKafka kafka;
    @TempDir
    static Path tmp;
    private static Path pngFolder;

    /** What one CLI run printed. */
    record Run(int exitCode, String out, String err) {
        JsonNode json() throws Exception {
            return new ObjectMapper().readTree(out.strip());
        }
    }

    @BeforeAll
    static void setUp() throws Exception {
        kafka = EmbeddedKafka.start();
        pngFolder = tmp.resolve("tiny");
        for (String cls : List.of("dog", "cat")) { // labels follow sorted names: cat 0, dog 1
            Files.createDirectories(pngFolder.resolve("train").resolve(cls));
            for (int i = 0; i < 10; i++) {
                Files.write(pngFolder.resolve("train").resolve(cls).resolve(String.format("%03d.png", i)),
                        ImageCodec.encode(image(cls.equals("cat") ? 0 : 1, i), ImageEncoding.PNG));
            }
        }
    }

    @AfterAll
    static void tearDown() {
        if (kafka != null) kafka.close();
    }

    /** An 3x8x8 image whose pixels say which class and file it is. */
    static Sample image(int label, int index) {
        byte[] px = new byte[3 * 8 * 8];
        for (int i = 0; i < px.length; i++) px[i] = (byte) (label * 100 + index * 7 + i);
        return new Sample(0, label, 3, 8, 8, px);
    }

    @Test
    void publishesPngFolderWithKeysLabelsHeadersAndSummary() throws Exception {
        Run run = ingest("--data", pngFolder.toString(), "--split", "train", "--topic", "tiny", "--partitions", "3");

        assertThat(run.exitCode()).as(run.err()).isZero();
        JsonNode json = run.json();
        assertThat(json.get("records").asLong()).isEqualTo(20);
        assertThat(json.get("topic").asText()).isEqualTo("tiny");
        assertThat(json.get("bytes").asLong()).isPositive();
        assertThat(json.get("records_per_sec").asDouble()).isPositive();
        assertThat(run.err()).contains("created topic tiny with 3 partitions").contains("Published 20 records");

        List<ConsumerRecord<byte[], byte[]>> got = consume("tiny", 20);
        assertThat(got).hasSize(20);
        assertThat(got.stream().map(ConsumerRecord::partition).distinct().count()).isGreaterThan(1);
        Set<Long> ids = new TreeSet<>();
        for (ConsumerRecord<byte[], byte[]> r : got) {
            ImageRecord rec = SERDE.decode(r.key(), r.value());
            ids.add(rec.id());
            assertThat(rec.encoding()).isEqualTo(ImageEncoding.PNG);
            assertThat(rec.epoch()).isZero();
            int label = rec.id() < 10 ? 0 : 1; // ids run by class (cat first), then file name
            assertThat(rec.label()).isEqualTo(label);
            assertThat(rec.toSample().pixels()).isEqualTo(image(label, (int) (rec.id() % 10)).pixels());
            assertThat(ImageHeaders.read(r.headers(), ImageHeaders.SPLIT)).contains("train");
            assertThat(ImageHeaders.read(r.headers(), ImageHeaders.SOURCE)).contains("tiny/train");
            assertThat(ImageHeaders.read(r.headers(), ImageHeaders.FORMAT)).contains("wrn-image/1");
        }
        assertThat(ids).hasSize(20).first().isEqualTo(0L);
    }

    @Test
    void twoEpochsPublishEverythingTwiceInDifferentOrders() throws Exception {
        Run run = ingest("--data", pngFolder.toString(), "--split", "train", "--topic", "epochs", "--partitions", "1",
                "--epochs", "2", "--encoding", "raw", "--seed", "7");

        assertThat(run.exitCode()).as(run.err()).isZero();
        List<ImageRecord> got = consume("epochs", 40).stream().map(r -> SERDE.decode(r.key(), r.value())).toList();
        assertThat(got).hasSize(40).allSatisfy(r -> assertThat(r.encoding()).isEqualTo(ImageEncoding.RAW));
        List<Long> first = got.subList(0, 20).stream().map(ImageRecord::id).toList();
        List<Long> second = got.subList(20, 40).stream().map(ImageRecord::id).toList();
        assertThat(got.subList(0, 20)).allSatisfy(r -> assertThat(r.epoch()).isZero());
        assertThat(got.subList(20, 40)).allSatisfy(r -> assertThat(r.epoch()).isEqualTo(1));
        assertThat(new TreeSet<>(first)).isEqualTo(new TreeSet<>(second)).hasSize(20);
        assertThat(first).isNotEqualTo(second);
        assertThat(first).isNotEqualTo(first.stream().sorted().toList()); // shuffled, not in id order
        // The order is a function of the seed and the epoch only.
        assertThat(Ingest.epochOrder(20, 7, 1)).isEqualTo(Ingest.epochOrder(20, 7, 1))
                .isNotEqualTo(Ingest.epochOrder(20, 8, 1));
    }

    @Test
    void publishesCifarJpegBytesUnchangedWithLimit() throws Exception {
        Path cifar = cifarDir();
        Run run = ingest("--data", cifar.toString(), "--split", "test", "--topic", "cifar300", "--limit", "300");

        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(run.json().get("records").asLong()).isEqualTo(300);
        List<ConsumerRecord<byte[], byte[]>> got = consume("cifar300", 300);
        assertThat(got).hasSize(300);
        Set<Integer> labels = new TreeSet<>();
        Set<Long> ids = new TreeSet<>();
        for (ConsumerRecord<byte[], byte[]> r : got) {
            ImageRecord rec = new ImageRecordSerde(10).decode(r.key(), r.value());
            assertThat(rec.encoding()).isEqualTo(ImageEncoding.JPEG);
            assertThat(rec.payload().length).isBetween(500, 2000); // the stored ~900-byte JPEG, not raw 3072 bytes
            Sample s = rec.toSample();
            assertThat(s.channels()).isEqualTo(3);
            assertThat(s.height()).isEqualTo(32);
            assertThat(rec.label()).isEqualTo((int) (rec.id() / 1000)); // 1,000 test images per class, class-sorted
            labels.add(rec.label());
            ids.add(rec.id());
            assertThat(ImageHeaders.read(r.headers(), ImageHeaders.SOURCE)).contains("cifar10-test-jpeg.zip");
            assertThat(ImageHeaders.read(r.headers(), ImageHeaders.SPLIT)).contains("test");
        }
        assertThat(ids).hasSize(300);
        assertThat(labels).hasSize(10); // a random subset, not the first 300 (all airplanes)
    }

    @Test
    void publishesWholeCifarTestSplit() throws Exception {
        Path cifar = cifarDir();
        Run run = ingest("--data", cifar.toString(), "--split", "test", "--topic", "cifar-test", "--partitions", "2");

        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(run.json().get("records").asLong()).isEqualTo(10_000);
        System.out.println("cifar-10 test split ingest: " + run.out().strip());
        try (org.apache.kafka.clients.admin.Admin admin = org.apache.kafka.clients.admin.Admin.create(kafka.clientProperties())) {
            long end = 0;
            var offsets = admin.listOffsets(java.util.Map.of(
                    new TopicPartition("cifar-test", 0), org.apache.kafka.clients.admin.OffsetSpec.latest(),
                    new TopicPartition("cifar-test", 1), org.apache.kafka.clients.admin.OffsetSpec.latest())).all().get();
            for (var o : offsets.values()) end += o.offset();
            assertThat(end).isEqualTo(10_000); // idempotent producer: no duplicates, nothing lost
        }
    }

    @Test
    void unreachableBrokerFailsFastWithClearMessage() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort(); // closed again: nothing listens there
        }
        long start = System.nanoTime();
        Run run = ingest("--data", pngFolder.toString(), "--split", "train", "--topic", "nowhere",
                "--bootstrap", "127.0.0.1:" + port, "--timeout", "2");

        assertThat(run.exitCode()).isEqualTo(1);
        assertThat(run.err()).contains("ingest: error: Cannot reach Kafka at 127.0.0.1:" + port + " within 2 s while"
                + " preparing topic nowhere (is the broker running and the address right?)");
        assertThat(run.out()).isEmpty();
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(10));
    }

    @Test
    void missingDataPathFailsNamingPathAndFormats() {
        Path missing = tmp.resolve("no-such-dataset");
        Run run = ingest("--data", missing.toString(), "--split", "train", "--topic", "x");

        assertThat(run.exitCode()).isEqualTo(1);
        assertThat(run.err()).contains("ingest: error: No dataset at " + missing.toAbsolutePath() + ": expected a folder"
                + " or file with CIFAR binary batches, IDX files, a cifar-*.tar.gz, a zip of JPEG/PNG images or a folder"
                + " train/<class>/<image>");
    }

    @Test
    void unrecognisedDataFailsWithDatasetReadersMessage() throws Exception {
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        Run run = ingest("--data", empty.toString(), "--split", "test", "--topic", "x");

        assertThat(run.exitCode()).isEqualTo(1);
        assertThat(run.err()).contains("ingest: error: Cannot read dataset " + empty + " (split test): Cannot recognise"
                + " a dataset in " + empty);
    }

    @Test
    void corruptImageFailsNamingItUnlessSkipped() throws Exception {
        Path folder = tmp.resolve("corrupt");
        Files.createDirectories(folder.resolve("train/a"));
        Files.write(folder.resolve("train/a/0.png"), ImageCodec.encode(image(0, 0), ImageEncoding.PNG));
        Files.write(folder.resolve("train/a/1.png"), new byte[] {1, 2, 3});

        Run failed = ingest("--data", folder.toString(), "--split", "train", "--topic", "corrupt");
        assertThat(failed.exitCode()).isEqualTo(1);
        assertThat(failed.err()).contains("train/a/1.png: cannot decode image").contains("(use --skip-corrupt to skip it)");

        Run skipped = ingest("--data", folder.toString(), "--split", "train", "--topic", "corrupt", "--skip-corrupt");
        assertThat(skipped.exitCode()).as(skipped.err()).isZero();
        assertThat(skipped.json().get("records").asLong()).isEqualTo(1);
        assertThat(skipped.json().get("skipped").asLong()).isEqualTo(1);
    }

    @Test
    void badUsageExitsWithTwoAndNamesTheRule() {
        Run missingTopic = ingest("--data", pngFolder.toString(), "--split", "train");
        assertThat(missingTopic.exitCode()).isEqualTo(2);
        assertThat(missingTopic.err()).contains("Missing required option: '--topic=TOPIC'");

        Run zeroEpochs = ingest("--data", pngFolder.toString(), "--split", "train", "--topic", "t", "--epochs", "0");
        assertThat(zeroEpochs.exitCode()).isEqualTo(2);
        assertThat(zeroEpochs.err()).contains("Invalid value 0 for epochs: must be >= 1");

        Run badSplit = ingest("--data", pngFolder.toString(), "--split", "validation", "--topic", "t");
        assertThat(badSplit.exitCode()).isEqualTo(2);
        assertThat(badSplit.err()).contains("Invalid value 'validation' for split: must be one of train, test");

        Run badEncoding = ingest("--data", pngFolder.toString(), "--split", "train", "--topic", "t", "--encoding", "gif");
        assertThat(badEncoding.exitCode()).isEqualTo(2);
        assertThat(badEncoding.err()).contains("Invalid value 'gif' for encoding: must be one of auto, raw, png, jpeg, source");
    }

    @Test
    void rateLimitHoldsThePace() throws Exception {
        Run run = ingest("--data", pngFolder.toString(), "--split", "train", "--topic", "paced", "--rate", "40");

        assertThat(run.exitCode()).as(run.err()).isZero();
        // 20 images at 40/s: the first 4 go as a burst, the other 16 take >= 0.4 s.
        assertThat(run.json().get("seconds").asDouble()).isGreaterThanOrEqualTo(0.35);
        assertThat(run.json().get("records_per_sec").asDouble()).isLessThanOrEqualTo(60);
    }

    private static Path cifarDir() {
        Path dir = Path.of(System.getProperty("wrn.datasets", "../shared/datasets")).resolve("cifar10-jpeg");
        assumeTrue(Files.isRegularFile(dir.resolve("cifar10-test-jpeg.zip")),
                "CIFAR-10 JPEG zips not found in " + dir.toAbsolutePath() + " (set -Dwrn.datasets): skipping");
        return dir;
    }

    private static Run ingest(String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        if (!all.contains("--bootstrap")) {
            all.add("--bootstrap");
            all.add(kafka.bootstrapServers());
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code;
        try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
             PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
            code = IngestCommand.execute(all.toArray(String[]::new), o, e, false);
        }
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private static List<ConsumerRecord<byte[], byte[]>> consume(String topic, int expected) {
        Properties c = kafka.clientProperties();
        c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(c, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            Collection<TopicPartition> parts = consumer.partitionsFor(topic).stream()
                    .map(p -> new TopicPartition(topic, p.partition())).collect(Collectors.toList());
            consumer.assign(parts);
            consumer.seekToBeginning(parts);
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (out.size() < expected && System.nanoTime() < deadline) {
                consumer.poll(Duration.ofMillis(200)).forEach(out::add);
            }
            consumer.poll(Duration.ofMillis(100)).forEach(out::add); // anything beyond the expected count shows up too
        }
        return out;
    }
}
