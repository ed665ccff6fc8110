package io.wrnstream.kafka.format;

import static io.wrnstream.kafka.format.RecordFormatException.Reason.BAD_ID;
import static io.wrnstream.kafka.format.RecordFormatException.Reason.BAD_SHAPE;
import static io.wrnstream.kafka.format.RecordFormatException.Reason.LABEL_OUT_OF_RANGE;
import static io.wrnstream.kafka.format.RecordFormatException.Reason.SIZE_MISMATCH;

import io.wrnstream.model.data.Sample;
import java.util.Arrays;
import java.util.Objects;

/**
 * One labelled image as it travels on Kafka: the {@link Sample} fields plus the ingest pass ({@code epoch}) and the
 * pixel {@link ImageEncoding} of {@code payload}. Written and read by {@link ImageRecordSerde}.
 *
 * <pre>{@code
 * ImageRecord r = ImageRecord.of(sample, 0, ImageEncoding.PNG);  // encodes the pixels
 * Sample back = r.toSample();                                    // decodes them, checking the shape
 * }</pre>
 *
 * @param id stable sample id within its dataset split, {@code >= 0}; also the Kafka key
 * @param epoch ingest pass that produced this record (0 for the first), {@code >= 0}
 * @param label class index, 0..65535
 * @param width image width in pixels, 1..65535
 * @param height image height in pixels, 1..65535
 * @param channels number of channels, 1..255 (PNG and JPEG payloads: 1 or 3)
 * @param encoding how {@code payload} encodes the pixels
 * @param payload the encoded pixels; for {@link ImageEncoding#RAW} exactly {@code channels*height*width} CHW bytes
 * @throws RecordFormatException when a field is outside its range
 */
public record ImageRecord(long id, int epoch, int label, int width, int height, int channels,
                          ImageEncoding encoding, byte[] payload) {

    /** Largest label, width or height the format can carry (u16). */
    public static final int MAX_U16 = 0xFFFF;
    /** Largest channel count the format can carry (u8). */
    public static final int MAX_CHANNELS = 0xFF;

    public ImageRecord {
        Objects.requireNonNull(encoding, "encoding");
        Objects.requireNonNull(payload, "payload");
        if (id < 0) throw new RecordFormatException(BAD_ID, "Invalid sample id " + id + " in image record: must be >= 0");
        if (epoch < 0) {
            throw new RecordFormatException(BAD_ID, "Invalid epoch " + epoch + " in image record " + id + ": must be >= 0");
        }
        if (label < 0 || label > MAX_U16) {
            throw new RecordFormatException(LABEL_OUT_OF_RANGE,
                    "Invalid label " + label + " in image record " + id + ": must be in 0.." + MAX_U16);
        }
        if (width < 1 || width > MAX_U16 || height < 1 || height > MAX_U16 || channels < 1 || channels > MAX_CHANNELS) {
            throw new RecordFormatException(BAD_SHAPE, "Invalid shape " + shape(channels, height, width)
                    + " (CxHxW) in image record " + id + ": width and height must be in 1.." + MAX_U16
                    + ", channels in 1.." + MAX_CHANNELS);
        }
        if (encoding == ImageEncoding.RAW && payload.length != (long) channels * height * width) {
            throw new RecordFormatException(SIZE_MISMATCH, "Raw image record " + id + " has " + payload.length
                    + " payload bytes, expected " + channels + "*" + height + "*" + width + " = "
                    + (long) channels * height * width);
        }
    }

    /** A raw (uncompressed CHW) record of {@code sample}; shares its pixel array. */
    public static ImageRecord raw(Sample sample, int epoch) {
        return new ImageRecord(sample.id(), epoch, sample.label(), sample.width(), sample.height(), sample.channels(),
                ImageEncoding.RAW, sample.pixels());
    }

    /**
     * A record of {@code sample} with its pixels encoded as {@code encoding}.
     *
     * @throws IllegalArgumentException when PNG or JPEG is asked for an image that has neither 1 nor 3 channels
     */
    public static ImageRecord of(Sample sample, int epoch, ImageEncoding encoding) {
        if (encoding == ImageEncoding.RAW) return raw(sample, epoch);
        return new ImageRecord(sample.id(), epoch, sample.label(), sample.width(), sample.height(), sample.channels(),
                encoding, ImageCodec.encode(sample, encoding));
    }

    /**
     * The decoded sample. PNG and JPEG payloads are decoded and must have exactly the shape this record declares.
     *
     * @throws RecordFormatException {@code UNDECODABLE_IMAGE} when the payload is not a readable image,
     *     {@code BAD_SHAPE} when it decodes to another shape
     */
    public Sample toSample() {
        if (encoding == ImageEncoding.RAW) return new Sample(id, label, channels, height, width, payload);
        Sample decoded = ImageCodec.decode(id, label, payload, encoding);
        if (decoded.channels() != channels || decoded.height() != height || decoded.width() != width) {
            throw new RecordFormatException(BAD_SHAPE, "Image record " + id + " declares shape "
                    + shape(channels, height, width) + " (CxHxW) but its " + encoding + " payload decodes to "
                    + shape(decoded.channels(), decoded.height(), decoded.width()));
        }
        return decoded;
    }

    /** The Kafka key of this record: {@link ImageRecordSerde#key(long)} of its id. */
    public byte[] key() {
        return ImageRecordSerde.key(id);
    }

    /** A copy of this record for another ingest pass. */
    public ImageRecord withEpoch(int newEpoch) {
        return new ImageRecord(id, newEpoch, label, width, height, channels, encoding, payload);
    }

    static String shape(int channels, int height, int width) {
        return channels + "x" + height + "x" + width;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ImageRecord r && id == r.id && epoch == r.epoch && label == r.label && width == r.width
                && height == r.height && channels == r.channels && encoding == r.encoding
                && Arrays.equals(payload, r.payload);
    }

    @Override
    public int hashCode() {
        return Objects.hash(id, epoch, label, width, height, channels, encoding) * 31 + Arrays.hashCode(payload);
    }

    @Override
    public String toString() {
        return "ImageRecord[id=" + id + ", epoch=" + epoch + ", label=" + label + ", " + shape(channels, height, width)
                + ", " + encoding + ", " + payload.length + " bytes]";
    }
}
