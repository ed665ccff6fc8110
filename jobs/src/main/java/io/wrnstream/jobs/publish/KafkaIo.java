package io.wrnstream.jobs.publish;

import io.wrnstream.jobs.config.JobConfig;
import io.wrnstream.jobs.decode.DeadLetter;
import io.wrnstream.jobs.decode.KafkaImage;
import io.wrnstream.jobs.decode.KafkaImageDeserializer;
import io.wrnstream.jobs.decode.TrainingRecords;
import io.wrnstream.jobs.eval.Evaluation;
import io.wrnstream.jobs.train.TrainerEvent;
import io.wrnstream.kafka.update.ModelUpdate;
import io.wrnstream.jobs.update.ModelUpdateSerializer;
import io.wrnstream.kafka.update.UpdateSigning;
import java.time.Duration;
import java.util.Properties;
import org.apache.flink.api.connector.source.Source;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.KafkaSourceBuilder;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.kafka.clients.consumer.OffsetResetStrategy;
import org.apache.kafka.clients.producer.ProducerConfig;

/**
 * The Kafka source and sinks of the training job, built from {@link JobConfig}; every one gets the {@code kafka.*}
 * passthrough properties (security, SASL, SSL).
 */
public final class KafkaIo {
    private KafkaIo() {}

    /**
     * Partitions of {@code topic.train}, or -1 when the broker does not say within {@code timeout} (the topic is missing
     * or the cluster unreachable): callers then assume nothing about them.
     */
    public static int trainPartitions(JobConfig c, Duration timeout) {
        Properties p = c.kafkaProperties();
        p.put(org.apache.kafka.clients.admin.AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, c.get(JobConfig.BOOTSTRAP_SERVERS));
        p.put(org.apache.kafka.clients.admin.AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) timeout.toMillis());
        p.put(org.apache.kafka.clients.admin.AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) timeout.toMillis());
        String topic = c.get(JobConfig.TOPIC_TRAIN);
        try (org.apache.kafka.clients.admin.Admin admin = org.apache.kafka.clients.admin.Admin.create(p)) {
            return admin.describeTopics(java.util.List.of(topic)).allTopicNames().get(timeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)
                    .get(topic).partitions().size();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        } catch (Exception e) {
            return -1;
        }
    }

    /**
     * The training source: raw records of {@code topic.train}, offsets committed on checkpoints under {@code group-id}.
     * With {@code source.bounded=true} it ends at the offsets that are latest when the job starts.
     */
    @SuppressWarnings("deprecation") // OffsetResetStrategy is what this connector version's API takes
    public static Source<KafkaImage, ?, ?> trainingSource(JobConfig c) {
        int[] shape = c.inputShape();
        KafkaSourceBuilder<KafkaImage> b = KafkaSource.<KafkaImage>builder()
                .setBootstrapServers(c.get(JobConfig.BOOTSTRAP_SERVERS))
                .setTopics(c.get(JobConfig.TOPIC_TRAIN))
                .setGroupId(c.get(JobConfig.GROUP_ID))
                .setProperties(c.kafkaProperties())
                .setProperty("commit.offsets.on.checkpoint", "true")
                .setProperty("isolation.level", "read_committed")
                .setStartingOffsets(c.get(JobConfig.SOURCE_START).equals("earliest") ? OffsetsInitializer.earliest()
                        : OffsetsInitializer.committedOffsets(OffsetResetStrategy.EARLIEST))
                .setDeserializer(new KafkaImageDeserializer(TrainingRecords.maxValueBytes(shape[0], shape[1], shape[2])));
        if (c.get(JobConfig.SOURCE_BOUNDED)) b.setBounded(OffsetsInitializer.latest());
        return new RestorableBoundedSource<>(b.build()); // a bounded run restored from a checkpoint ends too
    }

    /** Exactly-once sink of the evaluation records (JSON values) to {@code topic.results}. */
    public static KafkaSink<Evaluation> resultsSink(JobConfig c) {
        return KafkaSink.<Evaluation>builder()
                .setBootstrapServers(c.get(JobConfig.BOOTSTRAP_SERVERS))
                .setKafkaProducerConfig(producerProperties(c))
                .setDeliveryGuarantee(DeliveryGuarantee.EXACTLY_ONCE)
                .setTransactionalIdPrefix(c.get(JobConfig.TRANSACTIONAL_ID_PREFIX))
                .setProperty(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, String.valueOf(c.get(JobConfig.TRANSACTION_TIMEOUT).toMillis()))
                .setRecordSerializer(new JsonLineSerializer<>(c.get(JobConfig.TOPIC_RESULTS), Evaluation::toJson))
                .build();
    }

    /**
     * Exactly-once sink of model-update events (JSON, key = model id) to {@code topic.model-updates}: an update becomes
     * visible to {@code read_committed} consumers only when the checkpoint it belongs to completes. Its transactional ids
     * are {@code results.transactional-id-prefix} + {@code -model-updates}.
     */
    public static KafkaSink<ModelUpdate> modelUpdateSink(JobConfig c) {
        return KafkaSink.<ModelUpdate>builder()
                .setBootstrapServers(c.get(JobConfig.BOOTSTRAP_SERVERS))
                .setKafkaProducerConfig(producerProperties(c))
                .setDeliveryGuarantee(DeliveryGuarantee.EXACTLY_ONCE)
                .setTransactionalIdPrefix(c.get(JobConfig.TRANSACTIONAL_ID_PREFIX) + "-model-updates")
                .setProperty(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, String.valueOf(c.get(JobConfig.TRANSACTION_TIMEOUT).toMillis()))
                .setRecordSerializer(new ModelUpdateSerializer(c.get(JobConfig.TOPIC_MODEL_UPDATES), c.get(JobConfig.MODEL_SIGNING_KEY_FILE).isEmpty()
                        ? null : UpdateSigning.fromFile(java.nio.file.Path.of(c.get(JobConfig.MODEL_SIGNING_KEY_FILE)))))
                .build();
    }

    /**
     * At-least-once sink of dead letters to {@code topic.dead-letter} (a duplicate dead letter is harmless), each cut
     * to fit the limits the broker reports now (see {@link BrokerLimits#maxDeadLetterBytes}).
     */
    public static KafkaSink<DeadLetter> deadLetterSink(JobConfig c) {
        return deadLetterSink(c, BrokerLimits.read(c, LIMITS_TIMEOUT));
    }

    /** At-least-once sink of dead letters to {@code topic.dead-letter}, each cut to fit {@code limits}. */
    public static KafkaSink<DeadLetter> deadLetterSink(JobConfig c, BrokerLimits limits) {
        return KafkaSink.<DeadLetter>builder()
                .setBootstrapServers(c.get(JobConfig.BOOTSTRAP_SERVERS))
                .setKafkaProducerConfig(producerProperties(c))
                .setDeliveryGuarantee(DeliveryGuarantee.AT_LEAST_ONCE)
                .setRecordSerializer(new DeadLetterSerializer(c.get(JobConfig.TOPIC_DEAD_LETTER), limits.maxDeadLetterBytes(c)))
                .build();
    }

    /** At-least-once sink of trainer events (JSON) to {@code topic}: progress and checkpoint/restore markers. */
    public static KafkaSink<TrainerEvent> eventSink(JobConfig c, String topic) {
        return KafkaSink.<TrainerEvent>builder()
                .setBootstrapServers(c.get(JobConfig.BOOTSTRAP_SERVERS))
                .setKafkaProducerConfig(producerProperties(c))
                .setDeliveryGuarantee(DeliveryGuarantee.AT_LEAST_ONCE)
                .setRecordSerializer(new JsonLineSerializer<>(topic, TrainerEvent::toJson))
                .build();
    }

    /** The producers' {@code max.request.size} unless {@code kafka.max.request.size} sets it: 8 MiB. */
    public static final int DEFAULT_MAX_REQUEST_SIZE = 8 << 20;

    /** How long building the sinks waits for the broker to report its limits. */
    static final Duration LIMITS_TIMEOUT = Duration.ofSeconds(30);

    private static Properties producerProperties(JobConfig c) {
        Properties p = c.kafkaProperties();
        p.putIfAbsent(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, String.valueOf(DEFAULT_MAX_REQUEST_SIZE));
        return p;
    }
}
