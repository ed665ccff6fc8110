package io.wrnstream.jobs.decode;

import java.util.Arrays;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * Passes every Kafka record through as a {@link KafkaImage} without looking inside: the source must never fail on a
 * bad record, so decoding and validation are left to {@link DecodeFunction}. A value above {@code maxValueBytes}
 * (more than a training record of the job's shape can have) travels on as its first bytes and its declared size
 * only, so it is dead-lettered by that size and never copied whole.
 */
public final class KafkaImageDeserializer implements KafkaRecordDeserializationSchema<KafkaImage> {
    private static final long serialVersionUID = 1L;

    /** Bytes of an oversized value that travel on (the image record header and some more, for inspection). */
    public static final int KEPT_PREFIX_BYTES = 256;

    private final int maxValueBytes;

    /** Passes values up to {@code maxValueBytes} whole, see {@link TrainingRecords#maxValueBytes(int, int, int)}. */
    public KafkaImageDeserializer(int maxValueBytes) {
        this.maxValueBytes = maxValueBytes;
    }

    /** Passes every value whole. */
    public KafkaImageDeserializer() {
        this(Integer.MAX_VALUE);
    }

    @Override
    public void deserialize(ConsumerRecord<byte[], byte[]> r, Collector<KafkaImage> out) {
        byte[] v = r.value();
        if (v != null && v.length > maxValueBytes) {
            out.collect(new KafkaImage(r.key(), Arrays.copyOf(v, KEPT_PREFIX_BYTES), r.topic(), r.partition(), r.offset(), v.length));
        } else {
            out.collect(new KafkaImage(r.key(), v, r.topic(), r.partition(), r.offset()));
        }
    }

    @Override
    public TypeInformation<KafkaImage> getProducedType() {
        return TypeInformation.of(KafkaImage.class);
    }
}
