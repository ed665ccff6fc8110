package io.wrnstream.jobs.update;

import io.wrnstream.kafka.update.ModelUpdate;
import io.wrnstream.kafka.update.UpdateSigning;
import java.nio.charset.StandardCharsets;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * Writes a {@link ModelUpdate} as its JSON with key = the model id, so that compaction keeps each model's latest update;
 * signed when a key is given.
 */
public final class ModelUpdateSerializer implements KafkaRecordSerializationSchema<ModelUpdate> {
    private static final long serialVersionUID = 1L;
    private final String topic;
    private final UpdateSigning signing;

    /** Writes unsigned updates to {@code topic}. */
    public ModelUpdateSerializer(String topic) {
        this(topic, null);
    }

    /** Writes to {@code topic}, signed with {@code signing} unless it is null (see {@link UpdateSigning}). */
    public ModelUpdateSerializer(String topic, UpdateSigning signing) {
        this.topic = topic;
        this.signing = signing;
    }

    @Override
    public ProducerRecord<byte[], byte[]> serialize(ModelUpdate u, KafkaSinkContext context, Long timestamp) {
        return new ProducerRecord<>(topic, null, timestamp, u.modelId().getBytes(StandardCharsets.UTF_8),
                (signing == null ? u.toJson() : signing.signedJson(u)).getBytes(StandardCharsets.UTF_8));
    }
}
