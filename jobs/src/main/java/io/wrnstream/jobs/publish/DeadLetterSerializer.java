package io.wrnstream.jobs.publish;

import io.wrnstream.jobs.decode.DeadLetter;
import java.nio.charset.StandardCharsets;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;

/**
 * Writes a dead letter with its original key and value unchanged, and the reason ({@value DeadLetter#REASON_HEADER}),
 * a human-readable detail and the origin ({@code topic-partition@offset}) as UTF-8 headers.
 */
public final class DeadLetterSerializer implements KafkaRecordSerializationSchema<DeadLetter> {
    private static final long serialVersionUID = 1L;
    private final String topic;

    /** Writes to {@code topic}. */
    public DeadLetterSerializer(String topic) {
        this.topic = topic;
    }

    @Override
    public ProducerRecord<byte[], byte[]> serialize(DeadLetter d, KafkaSinkContext context, Long timestamp) {
        RecordHeaders h = new RecordHeaders();
        h.add(DeadLetter.REASON_HEADER, d.reason().getBytes(StandardCharsets.UTF_8));
        String detail = d.detail() == null ? "" : d.detail();
        h.add(DeadLetter.DETAIL_HEADER, detail.substring(0, Math.min(detail.length(), 1000)).getBytes(StandardCharsets.UTF_8));
        h.add(DeadLetter.ORIGIN_HEADER, (d.topic() + "-" + d.partition() + "@" + d.offset()).getBytes(StandardCharsets.UTF_8));
        return new ProducerRecord<>(topic, null, timestamp, d.key(), d.value(), h);
    }
}
