package io.wrnstream.embedded;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Future;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class EmbeddedKafkaITCase {

    private static EmbeddedKafka kafka;

    @BeforeAll
    static void startBroker() {
        kafka = EmbeddedKafka.start();
    }

    @AfterAll
    static void stopBroker() {
        if (kafka != null) kafka.close();
    }

    @Test
    void createdTopicsHaveLeadersAndTakeIdempotentWritesAtOnce() throws Exception {
        kafka.createTopics(3, "ready-a", "ready-b");

        try (Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
            Map<String, TopicDescription> d = admin.describeTopics(List.of("ready-a", "ready-b")).allTopicNames().get();
            assertThat(d.get("ready-a").partitions()).hasSize(3).allSatisfy(p -> assertThat(p.leader()).isNotNull());
        }
        Properties p = kafka.clientProperties();
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        List<Future<RecordMetadata>> sent = new ArrayList<>();
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(p, new StringSerializer(), new StringSerializer())) {
            for (int i = 0; i < 300; i++) sent.add(producer.send(new ProducerRecord<>("ready-a", "k" + i, "v" + i)));
            producer.flush();
            for (Future<RecordMetadata> f : sent) f.get();
        }
        assertThat(consumeAll("ready-a", 300)).hasSize(300);
    }

    @Test
    void transactionalProducerCommitsOnSingleNode() throws Exception {
        kafka.createTopics(1, "tx");
        Properties p = kafka.clientProperties();
        p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "tx-test");
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(p, new StringSerializer(), new StringSerializer())) {
            producer.initTransactions();
            producer.beginTransaction();
            producer.send(new ProducerRecord<>("tx", "k", "committed"));
            producer.commitTransaction();
        }
        List<ConsumerRecord<String, String>> got = consumeAll("tx", 1);
        assertThat(got).extracting(ConsumerRecord::value).containsExactly("committed");
    }

    @Test
    void createTopicsIsIdempotentAndValidates() {
        kafka.createTopics(2, "twice");
        kafka.createTopics(2, "twice");
        assertThatThrownBy(() -> kafka.createTopics(0, "zero"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Invalid value 0 for partitions: must be >= 1");
        assertThat(kafka.bootstrapServers()).startsWith("127.0.0.1:");
        assertThat(Files.isDirectory(kafka.logDir())).isTrue();
    }

    @Test
    void closeDeletesLogDirectory() {
        Path dir;
        try (EmbeddedKafka second = EmbeddedKafka.start()) {
            dir = second.logDir();
            assertThat(second.bootstrapServers()).isNotEqualTo(kafka.bootstrapServers());
        }
        assertThat(dir).doesNotExist();
    }

    private List<ConsumerRecord<String, String>> consumeAll(String topic, int expected) {
        Properties c = kafka.clientProperties();
        c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        List<ConsumerRecord<String, String>> out = new ArrayList<>();
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(c, new StringDeserializer(), new StringDeserializer())) {
            consumer.assign(consumer.partitionsFor(topic).stream()
                    .map(pi -> new org.apache.kafka.common.TopicPartition(topic, pi.partition())).toList());
            consumer.seekToBeginning(consumer.assignment());
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (out.size() < expected && System.nanoTime() < deadline) {
                consumer.poll(Duration.ofMillis(200)).forEach(out::add);
            }
        }
        return out;
    }
}
