package io.wrnstream.jobs.decode;

import java.util.Arrays;
import java.util.Objects;

/**
 * A training record that could not be used, kept byte for byte so it can be inspected or replayed, with the reason.
 * A value larger than a training record can be is kept as its first bytes only ({@code valueBytes} says how large
 * it was), and the writer cuts whatever would not fit on the dead-letter topic; the origin header always names
 * the original.
 *
 * @param key original key (may be null)
 * @param value original value (may be null), or its first bytes when {@code valueBytes} is larger
 * @param reason machine-readable reason: a {@link io.wrnstream.kafka.format.RecordFormatException.Reason} name
 * @param detail human-readable message
 * @param topic source topic
 * @param partition source partition
 * @param offset source offset
 * @param valueBytes size of the original value (-1 for null)
 */
public record DeadLetter(byte[] key, byte[] value, String reason, String detail, String topic, int partition, long offset,
                         int valueBytes) {

    /** A dead letter that keeps the whole value. */
    public DeadLetter(byte[] key, byte[] value, String reason, String detail, String topic, int partition, long offset) {
        this(key, value, reason, detail, topic, partition, offset, value == null ? -1 : value.length);
    }

    /** Header carrying {@link #reason()} on the dead-letter topic. */
    public static final String REASON_HEADER = "wrn.dlq.reason";
    /** Header carrying {@link #detail()}. */
    public static final String DETAIL_HEADER = "wrn.dlq.detail";
    /** Header carrying {@code topic-partition@offset} of the original record. */
    public static final String ORIGIN_HEADER = "wrn.dlq.origin";
    /**
     * Header present only when the dead letter does not carry the whole original: {@code key=N,value=M}, the sizes
     * in bytes of the original key and value; the record then holds a prefix of each, and the origin header names
     * the original record.
     */
    public static final String TRUNCATED_HEADER = "wrn.dlq.truncated";

    @Override
    public boolean equals(Object o) {
        return o instanceof DeadLetter d && Arrays.equals(key, d.key) && Arrays.equals(value, d.value) && Objects.equals(reason, d.reason)
                && Objects.equals(detail, d.detail) && Objects.equals(topic, d.topic) && partition == d.partition && offset == d.offset
                && valueBytes == d.valueBytes;
    }

    @Override
    public int hashCode() {
        return Objects.hash(reason, topic, partition, offset);
    }

    @Override
    public String toString() {
        return "DeadLetter[" + reason + " " + topic + "-" + partition + "@" + offset + ": " + detail + "]";
    }
}
