package io.wrnstream.jobs.decode;

import static io.wrnstream.kafka.format.RecordFormatException.Reason.BAD_ID;
import static io.wrnstream.kafka.format.RecordFormatException.Reason.BAD_SHAPE;
import static io.wrnstream.kafka.format.RecordFormatException.Reason.TOO_LARGE;

import io.wrnstream.kafka.format.ImageRecord;
import io.wrnstream.kafka.format.ImageRecordSerde;
import io.wrnstream.kafka.format.RecordFormatException;
import io.wrnstream.model.data.ImageLimits;
import io.wrnstream.model.data.Sample;

/**
 * The rules a training record must pass, as a plain class (the Flink shell is {@link DecodeFunction}): a key of the
 * sample id (never null), a value no larger than a record of the input shape can be, a valid version-1 image record,
 * the job's shape declared in the record and in the PNG/JPEG header before anything is decoded, and a label below
 * the class count.
 *
 * <pre>{@code
 * TrainingRecords rules = new TrainingRecords(10, 3, 32, 32);
 * LabelledImage image = rules.decode(kafkaImage);   // or RecordFormatException with the reason
 * }</pre>
 */
public final class TrainingRecords {

    private final int channels;
    private final int height;
    private final int width;
    private final int maxValueBytes;
    private final ImageRecordSerde serde;

    /** Rules for images of shape {@code channels x height x width} with labels in {@code [0, classes)}. */
    public TrainingRecords(int classes, int channels, int height, int width) {
        this.channels = channels;
        this.height = height;
        this.width = width;
        this.maxValueBytes = maxValueBytes(channels, height, width);
        this.serde = new ImageRecordSerde(classes);
    }

    /**
     * The largest value a training record of this shape can have: the header and a payload within
     * {@link ImageLimits#exactly} (a raw payload is smaller). The source keeps only the first bytes of a larger one.
     */
    public static int maxValueBytes(int channels, int height, int width) {
        return (int) Math.min(Integer.MAX_VALUE - 8,
                (long) ImageRecordSerde.HEADER_BYTES + ImageLimits.exactly(channels, height, width).maxEncodedBytes());
    }

    /** The bound of {@link #maxValueBytes(int, int, int)} for this shape. */
    public int maxValueBytes() {
        return maxValueBytes;
    }

    /**
     * Decodes and validates one record.
     *
     * @throws RecordFormatException with the reason when the record cannot be trained on
     */
    public LabelledImage decode(KafkaImage in) {
        if (in.key() == null) {
            throw new RecordFormatException(BAD_ID, "Image record at " + origin(in) + " has a null key: expected the sample id"
                    + " as " + ImageRecordSerde.KEY_BYTES + " bytes, big-endian");
        }
        if (in.truncated() || in.valueSize() > maxValueBytes) {
            throw new RecordFormatException(TOO_LARGE, "Image record value at " + origin(in) + " has " + in.valueSize()
                    + " bytes, more than a record of input.shape " + shape() + " can have (" + maxValueBytes
                    + "); not decoded");
        }
        ImageRecord record = serde.decode(in.key(), in.value());
        if (record.channels() != channels || record.height() != height || record.width() != width) {
            throw new RecordFormatException(BAD_SHAPE, "Image " + record.id() + " is " + record.channels() + "x"
                    + record.height() + "x" + record.width() + " but the job trains on " + shape() + " (input.shape)");
        }
        Sample s = record.toSample();  // PNG/JPEG: signature and header shape checked before decoding
        return LabelledImage.of(s, record.epoch());
    }

    /** The dead letter of {@code in} for {@code reason}; a value the source cut keeps its original size. */
    public static DeadLetter deadLetter(KafkaImage in, String reason, String detail) {
        return new DeadLetter(in.key(), in.value(), reason, detail, in.topic(), in.partition(), in.offset(), in.valueSize());
    }

    private String shape() {
        return channels + "x" + height + "x" + width;
    }

    private static String origin(KafkaImage in) {
        return in.topic() + "-" + in.partition() + "@" + in.offset();
    }
}
