package io.wrnstream.jobs.update;

import io.wrnstream.kafka.update.ModelUpdate;

import java.nio.charset.StandardCharsets;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.kafka.clients.producer.ProducerRecord;

/** Writes a {@link ModelUpdate} as its JSON with key = the model id, so that compaction keeps each model's latest update. */
public final class ModelUpdateSerializer implements KafkaRecordSerializationSchema<ModelUpdate> {
    private static final long serialVersionUID = 1L;
    private final String topic;

    /** Writes to {@code topic}. */
    public ModelUpdateSerializer(String topic) {
        this.topic = topic;
    }

    @Override
    public ProducerRecord<byte[], byte[]> serialize(ModelUpdate u, KafkaSinkContext context, Long timestamp) {
        return new ProducerRecord<>(topic, null, timestamp, u.modelId().getBytes(StandardCharsets.UTF_8),
                u.toJson().getBytes(StandardCharsets.UTF_8));
    }
}
