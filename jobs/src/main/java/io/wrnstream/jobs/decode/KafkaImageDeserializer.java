package io.wrnstream.jobs.decode;

import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * Passes every Kafka record through as a {@link KafkaImage} without looking inside: the source must never fail on a
 * bad record, so decoding and validation are left to {@link DecodeFunction}.
 */
public final class KafkaImageDeserializer implements KafkaRecordDeserializationSchema<KafkaImage> {
    private static final long serialVersionUID = 1L;

    @Override
    public void deserialize(ConsumerRecord<byte[], byte[]> r, Collector<KafkaImage> out) {
        out.collect(new KafkaImage(r.key(), r.value(), r.topic(), r.partition(), r.offset()));
    }

    @Override
    public TypeInformation<KafkaImage> getProducedType() {
        return TypeInformation.of(KafkaImage.class);
    }
}
