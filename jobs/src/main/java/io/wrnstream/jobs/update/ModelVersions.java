package io.wrnstream.jobs.update;

import io.wrnstream.jobs.config.JobConfig;
import io.wrnstream.kafka.update.ModelUpdate;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Model versions only go up: what a fresh job must start above, read from the model-updates topic. */
public final class ModelVersions {
    private static final Logger LOG = LoggerFactory.getLogger(ModelVersions.class);

    private ModelVersions() {}

    /**
     * The highest version of {@code config}'s model id committed on {@code topic.model-updates}, or 0 when there is
     * none or the topic does not exist. Every committed record is read (not only the newest by offset), so a topic
     * that already went back once still yields its highest version.
     *
     * @throws IllegalStateException when the topic cannot be read to its end within {@code timeout}
     */
    public static long newestOnTopic(JobConfig config, Duration timeout) {
        String topic = config.get(JobConfig.TOPIC_MODEL_UPDATES);
        Properties p = config.kafkaProperties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, config.get(JobConfig.BOOTSTRAP_SERVERS));
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) timeout.toMillis());
        String id = config.modelId();
        long newest = 0;
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            Map<String, List<PartitionInfo>> topics = c.listTopics(timeout);
            if (!topics.containsKey(topic)) return 0;
            List<TopicPartition> parts = topics.get(topic).stream().map(i -> new TopicPartition(topic, i.partition())).toList();
            c.assign(parts);
            c.seekToBeginning(parts);
            Map<TopicPartition, Long> end = c.endOffsets(parts, timeout);
            long deadline = System.nanoTime() + timeout.toNanos();
            while (parts.stream().anyMatch(tp -> c.position(tp) < end.get(tp))) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("Cannot read " + topic + " to its end within " + timeout.toSeconds()
                            + " s to find the newest version of model " + id);
                }
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
                    if (r.value() == null) continue;
                    try {
                        ModelUpdate u = ModelUpdate.fromJson(new String(r.value(), java.nio.charset.StandardCharsets.UTF_8));
                        if (u.modelId().equals(id)) newest = Math.max(newest, u.version());
                    } catch (RuntimeException e) {
                        LOG.warn("Skipping an unreadable record at {}-{}@{} of {}: {}", r.topic(), r.partition(), r.offset(), topic, e.getMessage());
                    }
                }
            }
        }
        return newest;
    }
}
