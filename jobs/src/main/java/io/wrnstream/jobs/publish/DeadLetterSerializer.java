package io.wrnstream.jobs.publish;

import io.wrnstream.jobs.decode.DeadLetter;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;

/**
 * Writes a dead letter with its original key and value, and the reason ({@value DeadLetter#REASON_HEADER}), a
 * human-readable detail and the origin ({@code topic-partition@offset}) as UTF-8 headers.
 *
 * <p>A dead letter always fits: when key, value and headers would exceed {@code maxRecordBytes} (the smaller of the
 * producer's {@code max.request.size} and the topic's {@code max.message.bytes}, see {@link BrokerLimits}), the key and
 * value are cut to what fits and header {@value DeadLetter#TRUNCATED_HEADER} gives their original sizes; so does a
 * value the source already cut (see {@link DeadLetter#valueBytes()}). The origin header names the original record.
 */
public final class DeadLetterSerializer implements KafkaRecordSerializationSchema<DeadLetter> {
    private static final long serialVersionUID = 1L;

    /** Most characters of the detail header. */
    static final int MAX_DETAIL_CHARS = 1000;
    /**
     * Bytes kept free for Kafka's own framing: the record batch header (61 bytes) and the varints of one record and
     * its headers (at most 5 bytes each), rounded up generously.
     */
    static final int FRAMING_BYTES = 512;

    private final String topic;
    private final int maxRecordBytes;

    /** Writes to {@code topic} records of at most {@code maxRecordBytes} bytes. */
    public DeadLetterSerializer(String topic, int maxRecordBytes) {
        if (maxRecordBytes < 4 * FRAMING_BYTES) {
            throw new IllegalArgumentException("Invalid dead-letter record bound " + maxRecordBytes + ": must be >= " + 4 * FRAMING_BYTES);
        }
        this.topic = topic;
        this.maxRecordBytes = maxRecordBytes;
    }

    /** Writes to {@code topic} within Kafka's default limit of {@value BrokerLimits#DEFAULT_MAX_MESSAGE_BYTES} bytes. */
    public DeadLetterSerializer(String topic) {
        this(topic, BrokerLimits.DEFAULT_MAX_MESSAGE_BYTES);
    }

    @Override
    public ProducerRecord<byte[], byte[]> serialize(DeadLetter d, KafkaSinkContext context, Long timestamp) {
        RecordHeaders h = new RecordHeaders();
        h.add(DeadLetter.REASON_HEADER, utf8(d.reason()));
        String detail = d.detail() == null ? "" : d.detail();
        h.add(DeadLetter.DETAIL_HEADER, utf8(detail.substring(0, Math.min(detail.length(), MAX_DETAIL_CHARS))));
        h.add(DeadLetter.ORIGIN_HEADER, utf8(d.topic() + "-" + d.partition() + "@" + d.offset()));
        byte[] key = d.key();
        byte[] value = d.value();
        int keyBytes = key == null ? -1 : key.length;
        int valueBytes = d.valueBytes();
        String truncated = "key=" + keyBytes + ",value=" + valueBytes;
        int budget = maxRecordBytes - FRAMING_BYTES - headerBytes(h) - DeadLetter.TRUNCATED_HEADER.length() - truncated.length();
        int keyLen = key == null ? 0 : key.length;
        int valueLen = value == null ? 0 : value.length;
        boolean cut = value != null && valueBytes > value.length;
        if (keyLen + valueLen > budget) {
            cut = true;
            if (key != null) key = Arrays.copyOf(key, Math.min(keyLen, budget / 2));
            if (value != null) value = Arrays.copyOf(value, Math.max(0, Math.min(valueLen, budget - (key == null ? 0 : key.length))));
        }
        if (cut) h.add(DeadLetter.TRUNCATED_HEADER, utf8(truncated));
        return new ProducerRecord<>(topic, null, timestamp, key, value, h);
    }

    /** The bound this serializer keeps records within. */
    public int maxRecordBytes() {
        return maxRecordBytes;
    }

    private static int headerBytes(RecordHeaders h) {
        int n = 0;
        for (Header x : h) n += x.key().length() + x.value().length;
        return n;
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
