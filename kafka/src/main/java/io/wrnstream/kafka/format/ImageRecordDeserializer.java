package io.wrnstream.kafka.format;

import java.util.Map;
import org.apache.kafka.common.serialization.Deserializer;

/**
 * Kafka {@link Deserializer} for image record values, wrapping {@link ImageRecordSerde}. A Kafka deserializer does not
 * see the key, so the key/id agreement is not checked here; call {@link ImageRecordSerde#decode(byte[], byte[])}
 * directly where the key is at hand. Invalid values raise {@link RecordFormatException}, which the consumer reports
 * as a {@code RecordDeserializationException} naming the partition and offset.
 */
public class ImageRecordDeserializer implements Deserializer<ImageRecord> {

    private ImageRecordSerde serde = new ImageRecordSerde();

    @Override
    public void configure(Map<String, ?> configs, boolean isKey) {
        serde = serdeFrom(configs);
    }

    @Override
    public ImageRecord deserialize(String topic, byte[] data) {
        return serde.decode(null, data);
    }

    static ImageRecordSerde serdeFrom(Map<String, ?> configs) {
        Object n = configs == null ? null : configs.get(ImageRecordSerializer.NUM_CLASSES_CONFIG);
        if (n == null) return new ImageRecordSerde();
        try {
            return new ImageRecordSerde(Integer.parseInt(n.toString().trim()));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("Invalid value " + n + " for " + ImageRecordSerializer.NUM_CLASSES_CONFIG
                    + ": must be an integer in 1..65536", e);
        }
    }
}
