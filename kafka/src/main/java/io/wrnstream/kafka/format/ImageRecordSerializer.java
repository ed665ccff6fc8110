package io.wrnstream.kafka.format;

import java.util.Map;
import org.apache.kafka.common.serialization.Serializer;

/**
 * Kafka {@link Serializer} for image record values, wrapping {@link ImageRecordSerde}. Use Kafka's
 * {@code LongSerializer} for keys (the sample id). Optional config {@value #NUM_CLASSES_CONFIG} enables the label check.
 */
public class ImageRecordSerializer implements Serializer<ImageRecord> {

    /** Client config key: number of classes; labels must be below it. */
    public static final String NUM_CLASSES_CONFIG = "wrn.format.num.classes";

    private ImageRecordSerde serde = new ImageRecordSerde();

    @Override
    public void configure(Map<String, ?> configs, boolean isKey) {
        serde = ImageRecordDeserializer.serdeFrom(configs);
    }

    @Override
    public byte[] serialize(String topic, ImageRecord data) {
        return data == null ? null : serde.encode(data);
    }
}
