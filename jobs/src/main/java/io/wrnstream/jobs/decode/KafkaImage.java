package io.wrnstream.jobs.decode;

import java.util.Arrays;
import java.util.Objects;

/**
 * A training record exactly as it came off Kafka, before any decoding: key and value bytes plus where it came
 * from. Decoding happens in a parallel operator so that a bad record can go to the dead-letter topic unchanged.
 *
 * @param key the record key (sample id, 8 bytes), may be null
 * @param value the record value, may be null (tombstone)
 * @param topic source topic
 * @param partition source partition
 * @param offset source offset
 */
public record KafkaImage(byte[] key, byte[] value, String topic, int partition, long offset) {

    @Override
    public boolean equals(Object o) {
        return o instanceof KafkaImage k && Arrays.equals(key, k.key) && Arrays.equals(value, k.value)
                && Objects.equals(topic, k.topic) && partition == k.partition && offset == k.offset;
    }

    @Override
    public int hashCode() {
        return Objects.hash(topic, partition, offset);
    }

    @Override
    public String toString() {
        return "KafkaImage[" + topic + "-" + partition + "@" + offset + ", " + (value == null ? "null" : value.length + " bytes") + "]";
    }
}
