package io.wrnstream.jobs.publish;

import io.wrnstream.jobs.config.JobConfig;
import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.config.ConfigResource;

/**
 * The broker's limits the job must stay within, read once before the job is built: the largest message
 * ({@code message.max.bytes}, and {@code max.message.bytes} of each existing topic the job writes), the longest
 * transaction ({@code transaction.max.timeout.ms}) and which topics exist.
 *
 * @param messageMaxBytes the broker's {@code message.max.bytes}
 * @param transactionMaxTimeoutMs the broker's {@code transaction.max.timeout.ms}
 * @param topicMaxMessageBytes {@code max.message.bytes} of the topics asked about that exist
 * @param topics the names of all topics
 * @param committedPartitions partitions of {@code topic.train} on which {@code group-id} has committed offsets
 */
public record BrokerLimits(int messageMaxBytes, long transactionMaxTimeoutMs, Map<String, Integer> topicMaxMessageBytes,
                           Set<String> topics, int committedPartitions) {

    /** Limits without committed offsets. */
    public BrokerLimits(int messageMaxBytes, long transactionMaxTimeoutMs, Map<String, Integer> topicMaxMessageBytes, Set<String> topics) {
        this(messageMaxBytes, transactionMaxTimeoutMs, topicMaxMessageBytes, topics, 0);
    }

    /** Kafka's default {@code message.max.bytes} and {@code max.message.bytes}: 1 MiB plus the batch overhead. */
    public static final int DEFAULT_MAX_MESSAGE_BYTES = 1_048_588;
    /** Kafka's default {@code transaction.max.timeout.ms}: 15 minutes. */
    public static final long DEFAULT_TRANSACTION_MAX_TIMEOUT_MS = TimeUnit.MINUTES.toMillis(15);

    public BrokerLimits {
        topicMaxMessageBytes = Map.copyOf(topicMaxMessageBytes);
        topics = Set.copyOf(topics);
    }

    /** The largest record that may be written to {@code topic}: its {@code max.message.bytes}, else the broker's. */
    public int maxMessageBytes(String topic) {
        return topicMaxMessageBytes.getOrDefault(topic, messageMaxBytes);
    }

    /**
     * The largest dead letter the job may write: the smaller of the producer's {@code max.request.size} (from
     * {@code kafka.max.request.size}, else the job's 8 MiB) and the dead-letter topic's {@code max.message.bytes}.
     */
    public int maxDeadLetterBytes(JobConfig c) {
        return Math.min(producerMaxRequestSize(c), maxMessageBytes(c.get(JobConfig.TOPIC_DEAD_LETTER)));
    }

    /** The producers' {@code max.request.size}: {@code kafka.max.request.size}, else {@link KafkaIo#DEFAULT_MAX_REQUEST_SIZE}. */
    public static int producerMaxRequestSize(JobConfig c) {
        Object v = c.kafkaProperties().get(ProducerConfig.MAX_REQUEST_SIZE_CONFIG);
        if (v == null) return KafkaIo.DEFAULT_MAX_REQUEST_SIZE;
        try {
            return Integer.parseInt(v.toString().strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("Invalid value '" + v + "' for kafka.max.request.size: must be an integer of bytes");
        }
    }

    /**
     * Reads the limits from the cluster {@code c} names, asking about the topics the job writes.
     *
     * @throws IllegalStateException naming bootstrap-servers when the cluster does not answer within {@code timeout}
     */
    public static BrokerLimits read(JobConfig c, Duration timeout) {
        Properties p = c.kafkaProperties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, c.get(JobConfig.BOOTSTRAP_SERVERS));
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) timeout.toMillis());
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) timeout.toMillis());
        List<String> written = List.of(c.get(JobConfig.TOPIC_DEAD_LETTER), c.get(JobConfig.TOPIC_RESULTS), c.get(JobConfig.TOPIC_MODEL_UPDATES));
        try (Admin admin = Admin.create(p)) {
            Set<String> topics = new HashSet<>(admin.listTopics().names().get(timeout.toMillis(), TimeUnit.MILLISECONDS));
            Collection<Node> nodes = admin.describeCluster().nodes().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            ConfigResource broker = new ConfigResource(ConfigResource.Type.BROKER, String.valueOf(nodes.iterator().next().id()));
            Map<ConfigResource, Config> configs = new HashMap<>(admin.describeConfigs(List.of(broker)).all()
                    .get(timeout.toMillis(), TimeUnit.MILLISECONDS));
            List<ConfigResource> topicResources = written.stream().filter(topics::contains).distinct()
                    .map(t -> new ConfigResource(ConfigResource.Type.TOPIC, t)).toList();
            if (!topicResources.isEmpty()) {
                configs.putAll(admin.describeConfigs(topicResources).all().get(timeout.toMillis(), TimeUnit.MILLISECONDS));
            }
            Config b = configs.get(broker);
            int messageMax = (int) number(b, "message.max.bytes", DEFAULT_MAX_MESSAGE_BYTES);
            long txMax = number(b, "transaction.max.timeout.ms", DEFAULT_TRANSACTION_MAX_TIMEOUT_MS);
            Map<String, Integer> perTopic = new HashMap<>();
            for (ConfigResource r : topicResources) {
                perTopic.put(r.name(), (int) number(configs.get(r), "max.message.bytes", messageMax));
            }
            String train = c.get(JobConfig.TOPIC_TRAIN);
            int committed = (int) admin.listConsumerGroupOffsets(c.get(JobConfig.GROUP_ID)).partitionsToOffsetAndMetadata()
                    .get(timeout.toMillis(), TimeUnit.MILLISECONDS).entrySet().stream()
                    .filter(e -> e.getKey().topic().equals(train) && e.getValue() != null).count();
            return new BrokerLimits(messageMax, txMax, perTopic, topics, committed);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while reading the broker's limits", e);
        } catch (Exception e) {
            throw new IllegalStateException("Cannot reach Kafka at bootstrap-servers=" + c.get(JobConfig.BOOTSTRAP_SERVERS)
                    + " within " + timeout.toSeconds() + " s to read its limits: " + e.getMessage(), e);
        }
    }

    private static long number(Config config, String name, long fallback) {
        ConfigEntry e = config == null ? null : config.get(name);
        if (e == null || e.value() == null) return fallback;
        return Long.parseLong(e.value());
    }
}
