package io.wrnstream.jobs.decode;

import java.util.Arrays;
import java.util.Objects;

/**
 * A training record exactly as it came off Kafka, before any decoding: key and value bytes plus where it came
 * from. Decoding happens in a parallel operator so that a bad record can go to the dead-letter topic unchanged.
 *
 * @param key the record key (sample id, 8 bytes), may be null
 * @param value the record value, may be null (tombstone); only its first bytes when {@code valueSize} is larger
 * @param topic source topic
 * @param partition source partition
 * @param offset source offset
 * @param valueSize the size of the value as Kafka delivered it (-1 for null), which is larger than
 *     {@code value.length} when the source kept only a prefix of an oversized record
 */
public record KafkaImage(byte[] key, byte[] value, String topic, int partition, long offset, int valueSize) {

    /** A record whose value is complete. */
    public KafkaImage(byte[] key, byte[] value, String topic, int partition, long offset) {
        this(key, value, topic, partition, offset, value == null ? -1 : value.length);
    }

    /** True when the source kept only a prefix of the value. */
    public boolean truncated() {
        return value != null && valueSize > value.length;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof KafkaImage k && Arrays.equals(key, k.key) && Arrays.equals(value, k.value)
                && Objects.equals(topic, k.topic) && partition == k.partition && offset == k.offset && valueSize == k.valueSize;
    }

    @Override
    public int hashCode() {
        return Objects.hash(topic, partition, offset);
    }

    @Override
    public String toString() {
        return "KafkaImage[" + topic + "-" + partition + "@" + offset + ", " + (value == null ? "null" : valueSize + " bytes") + "]";
    }
}
