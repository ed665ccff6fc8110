package io.wrnstream.jobs.publish;

import java.nio.charset.StandardCharsets;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.flink.util.function.SerializableFunction;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * Writes each element as one UTF-8 JSON object, without key, to a fixed topic.
 *
 * @param <T> element type
 */
public final class JsonLineSerializer<T> implements KafkaRecordSerializationSchema<T> {
    private static final long serialVersionUID = 1L;
    private final String topic;
    private final SerializableFunction<T, String> toJson;

    /** Serialises with {@code toJson} to {@code topic}. */
    public JsonLineSerializer(String topic, SerializableFunction<T, String> toJson) {
        this.topic = topic;
        this.toJson = toJson;
    }

    @Override
    public ProducerRecord<byte[], byte[]> serialize(T element, KafkaSinkContext context, Long timestamp) {
        return new ProducerRecord<>(topic, null, timestamp, null, toJson.apply(element).getBytes(StandardCharsets.UTF_8));
    }
}
