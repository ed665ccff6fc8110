package io.wrnstream.jobs.publish;

import static org.assertj.core.api.Assertions.assertThat;

import io.wrnstream.jobs.decode.DeadLetter;
import java.nio.charset.StandardCharsets;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.record.AbstractRecords;
import org.apache.kafka.common.record.CompressionType;
import org.apache.kafka.common.record.RecordBatch;
import org.junit.jupiter.api.Test;

/** A dead letter always fits the topic: Kafka's own size estimate of the written record stays within the bound. */
class DeadLetterSerializerTest {

    @Test
    void valueWithin200BytesOfTheLimitIsCutToFitAndSaysSo() {
        int limit = BrokerLimits.DEFAULT_MAX_MESSAGE_BYTES;
        byte[] value = new byte[limit - 200];
        DeadLetter d = new DeadLetter(new byte[8], value, "UNKNOWN_VERSION", "x".repeat(5000), "wrn.train", 1, 42);

        ProducerRecord<byte[], byte[]> r = new DeadLetterSerializer("dlq", limit).serialize(d, null, 0L);

        assertThat(sizeEstimate(r)).isLessThanOrEqualTo(limit);
        assertThat(r.value().length).isLessThan(value.length).isGreaterThan(limit - 4096);
        assertThat(header(r, DeadLetter.TRUNCATED_HEADER)).isEqualTo("key=8,value=" + value.length);
        assertThat(header(r, DeadLetter.ORIGIN_HEADER)).isEqualTo("wrn.train-1@42");
    }

    @Test
    void recordAboveTheProducerLimitIsCutToIt() {
        DeadLetter d = new DeadLetter(new byte[100_000], new byte[9 << 20], "TOO_LARGE", "big", "t", 0, 1);
        ProducerRecord<byte[], byte[]> r = new DeadLetterSerializer("dlq", 1 << 20).serialize(d, null, 0L);
        assertThat(sizeEstimate(r)).isLessThanOrEqualTo(1 << 20);
        assertThat(header(r, DeadLetter.TRUNCATED_HEADER)).isEqualTo("key=100000,value=" + (9 << 20));
    }

    @Test
    void smallDeadLetterKeepsEverythingAndHasNoTruncationHeader() {
        DeadLetter d = new DeadLetter(new byte[8], new byte[3100], "BAD_SHAPE", "shape", "t", 0, 1);
        ProducerRecord<byte[], byte[]> r = new DeadLetterSerializer("dlq", 1 << 20).serialize(d, null, 0L);
        assertThat(r.value()).hasSize(3100);
        assertThat(r.headers().lastHeader(DeadLetter.TRUNCATED_HEADER)).isNull();
    }

    @Test
    void valueTheSourceAlreadyCutSaysItsOriginalSize() {
        DeadLetter d = new DeadLetter(new byte[8], new byte[256], "TOO_LARGE", "big", "t", 0, 1, 2_000_000);
        ProducerRecord<byte[], byte[]> r = new DeadLetterSerializer("dlq", 1 << 20).serialize(d, null, 0L);
        assertThat(r.value()).hasSize(256);
        assertThat(header(r, DeadLetter.TRUNCATED_HEADER)).isEqualTo("key=8,value=2000000");
    }

    /** The producer's own bound on the serialized size it checks against max.request.size. */
    private static int sizeEstimate(ProducerRecord<byte[], byte[]> r) {
        return AbstractRecords.estimateSizeInBytesUpperBound(RecordBatch.CURRENT_MAGIC_VALUE, CompressionType.NONE, r.key(), r.value(),
                r.headers().toArray());
    }

    private static String header(ProducerRecord<byte[], byte[]> r, String name) {
        Header h = r.headers().lastHeader(name);
        return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }
}
