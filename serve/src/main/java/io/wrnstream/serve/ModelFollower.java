package io.wrnstream.serve;

import io.wrnstream.kafka.update.ModelUpdate;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Follows the compacted model-updates topic on its own thread and loads each new model into a {@link ModelServer}.
 *
 * <p>It reads committed records only ({@code read_committed}: updates of rolled-back checkpoints never appear), from
 * the beginning, without a consumer group (every replica sees the whole history). The newest update wins: while it is
 * behind the end of the topic it only remembers the latest update, and loads once caught up, so a restart does not
 * load every historical model. A failed load (file missing, digest mismatch) keeps the current model and is retried
 * with back-off until a newer update arrives.
 */
public final class ModelFollower implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ModelFollower.class);
    private static final Duration POLL = Duration.ofMillis(500);
    private static final long MAX_BACKOFF_MS = 30_000;

    private final ModelServer server;
    private final String topic;
    private final String modelId;
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final Thread thread;
    private volatile boolean running = true;

    /**
     * Starts following {@code topic}.
     *
     * @param modelId only updates with this key/model id, or null for any
     * @param clientProperties Kafka consumer properties; {@code bootstrap.servers} is required
     */
    public ModelFollower(ModelServer server, String topic, String modelId, Properties clientProperties) {
        this.server = server;
        this.topic = topic;
        this.modelId = modelId;
        Properties p = new Properties();
        p.putAll(clientProperties);
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.putIfAbsent(ConsumerConfig.CLIENT_ID_CONFIG, "wrn-serve-follower");
        this.consumer = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
        this.thread = new Thread(this::run, "wrn-model-follower");
        thread.setDaemon(true);
        thread.start();
    }

    private void run() {
        try {
            List<TopicPartition> parts = awaitPartitions();
            if (parts == null) return;
            consumer.assign(parts);
            consumer.seekToBeginning(parts);
            LOG.info("Following model updates on {} ({} partition(s)) from the beginning", topic, parts.size());
            ModelUpdate newest = null;
            ModelUpdate applied = null;
            int failures = 0;
            long retryAt = 0;
            while (running) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(POLL)) {
                    ModelUpdate u = parse(r);
                    if (u == null || (modelId != null && !modelId.equals(u.modelId()))) continue;
                    if (newest == null || parts.size() == 1 || u.wallMs() >= newest.wallMs()) newest = u; // one partition: offset order
                }
                if (newest == null || newest.equals(applied) || !caughtUp(parts)) continue;
                if (failures > 0 && System.currentTimeMillis() < retryAt) continue;
                try {
                    server.load(newest);
                    applied = newest;
                    failures = 0;
                } catch (RuntimeException e) {
                    failures++;
                    long backoff = Math.min(MAX_BACKOFF_MS, 1000L << Math.min(failures - 1, 5));
                    retryAt = System.currentTimeMillis() + backoff;
                    LOG.warn("Cannot load model v{} from {} (attempt {}): {}; keeping the current model, retrying in {} ms unless a newer update arrives",
                            newest.version(), newest.location(), failures, e.toString(), backoff);
                }
            }
        } catch (WakeupException e) {
            if (running) throw e;
        } catch (RuntimeException e) {
            LOG.error("Model follower on {} stopped", topic, e);
        } finally {
            consumer.close(Duration.ofSeconds(5));
        }
    }

    /** The topic's partitions, waiting while it does not exist yet (the job creates nothing before its first model). */
    private List<TopicPartition> awaitPartitions() {
        boolean warned = false;
        while (running) {
            Map<String, List<PartitionInfo>> topics = consumer.listTopics(Duration.ofSeconds(30));
            List<PartitionInfo> infos = topics.get(topic);
            if (infos != null && !infos.isEmpty()) return infos.stream().map(i -> new TopicPartition(topic, i.partition())).toList();
            if (!warned) LOG.warn("Model-updates topic {} does not exist yet: waiting for it", topic);
            warned = true;
            try {
                Thread.sleep(POLL.toMillis()); // polling interval of a wait for the topic, not synchronisation
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return null;
            }
        }
        return null;
    }

    private boolean caughtUp(List<TopicPartition> parts) {
        Map<TopicPartition, Long> end = consumer.endOffsets(parts);
        for (TopicPartition tp : parts) if (consumer.position(tp) < end.get(tp)) return false;
        return true;
    }

    private static ModelUpdate parse(ConsumerRecord<byte[], byte[]> r) {
        if (r.value() == null) return null; // a tombstone: nothing to load
        try {
            return ModelUpdate.fromJson(new String(r.value(), StandardCharsets.UTF_8));
        } catch (IllegalArgumentException e) {
            LOG.warn("Skipping record {}-{}@{}: {}", r.topic(), r.partition(), r.offset(), e.getMessage());
            return null;
        }
    }

    @Override
    public void close() {
        running = false;
        consumer.wakeup();
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
