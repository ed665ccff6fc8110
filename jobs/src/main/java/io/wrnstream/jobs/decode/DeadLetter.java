package io.wrnstream.jobs.decode;

import java.util.Arrays;
import java.util.Objects;

/**
 * A training record that could not be used, kept byte for byte so it can be inspected or replayed, with the reason.
 *
 * @param key original key (may be null)
 * @param value original value (may be null)
 * @param reason machine-readable reason: a {@link io.wrnstream.kafka.format.RecordFormatException.Reason} name
 * @param detail human-readable message
 * @param topic source topic
 * @param partition source partition
 * @param offset source offset
 */
public record DeadLetter(byte[] key, byte[] value, String reason, String detail, String topic, int partition, long offset) {

    /** Header carrying {@link #reason()} on the dead-letter topic. */
    public static final String REASON_HEADER = "wrn.dlq.reason";
    /** Header carrying {@link #detail()}. */
    public static final String DETAIL_HEADER = "wrn.dlq.detail";
    /** Header carrying {@code topic-partition@offset} of the original record. */
    public static final String ORIGIN_HEADER = "wrn.dlq.origin";

    @Override
    public boolean equals(Object o) {
        return o instanceof DeadLetter d && Arrays.equals(key, d.key) && Arrays.equals(value, d.value) && Objects.equals(reason, d.reason)
                && Objects.equals(detail, d.detail) && Objects.equals(topic, d.topic) && partition == d.partition && offset == d.offset;
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
