package io.wrnstream.kafka.format;

import static io.wrnstream.kafka.format.RecordFormatException.Reason.BAD_ID;
import static io.wrnstream.kafka.format.RecordFormatException.Reason.BAD_MAGIC;
import static io.wrnstream.kafka.format.RecordFormatException.Reason.EMPTY_VALUE;
import static io.wrnstream.kafka.format.RecordFormatException.Reason.LABEL_OUT_OF_RANGE;
import static io.wrnstream.kafka.format.RecordFormatException.Reason.SIZE_MISMATCH;
import static io.wrnstream.kafka.format.RecordFormatException.Reason.TRUNCATED;
import static io.wrnstream.kafka.format.RecordFormatException.Reason.UNKNOWN_VERSION;

import java.io.Serializable;
import java.nio.ByteBuffer;

/**
 * The one serde of the image record format, used by every producer and consumer of image topics.
 *
 * <p><b>Key</b>: the sample id as 8 bytes, big-endian (the layout of Kafka's {@code LongSerializer}). With several
 * ingest epochs the same key appears once per epoch, so image topics must use {@code cleanup.policy=delete}.
 *
 * <p><b>Value</b>, format version 1, all integers big-endian, 28-byte header then the payload:
 * <pre>
 * offset size type  field
 *  0     2    bytes magic 'W' 'R' (0x57 0x52)
 *  2     1    u8    format version = 1
 *  3     1    u8    pixel encoding: 0 raw uint8 CHW, 1 PNG, 2 JPEG
 *  4     8    i64   sample id (&gt;= 0), equal to the key
 * 12     4    i32   epoch: ingest pass number (&gt;= 0)
 * 16     2    u16   label (class index)
 * 18     2    u16   width
 * 20     2    u16   height
 * 22     1    u8    channels
 * 23     1    u8    reserved, written as 0, ignored when read
 * 24     4    i32   payload length n (&gt;= 0)
 * 28     n    bytes payload (raw: exactly channels*height*width bytes)
 * </pre>
 * A value must be exactly {@code 28 + n} bytes long. Readers reject any other version with
 * {@link RecordFormatException.Reason#UNKNOWN_VERSION}; a new layout gets a new version number, never a silent change.
 *
 * <p>Headers (optional, see {@link ImageHeaders}) carry the split, source and format name; the value is
 * self-contained without them. Instances are immutable and thread-safe.
 *
 * <pre>{@code
 * ImageRecordSerde serde = new ImageRecordSerde(10);             // labels must be < 10
 * byte[] value = serde.encode(record);
 * ImageRecord back = serde.decode(ImageRecordSerde.key(record.id()), value);
 * }</pre>
 */
public final class ImageRecordSerde implements Serializable {

    private static final long serialVersionUID = 1L;

    /** First magic byte, {@code 'W'}. */
    public static final byte MAGIC_0 = 'W';
    /** Second magic byte, {@code 'R'}. */
    public static final byte MAGIC_1 = 'R';
    /** The format version this class writes, and the only one it reads. */
    public static final int VERSION = 1;
    /** Bytes before the payload in a version-1 value. */
    public static final int HEADER_BYTES = 28;
    /** Bytes in a key. */
    public static final int KEY_BYTES = 8;

    private final int numClasses;

    /** A serde that accepts any label in the format's u16 range. */
    public ImageRecordSerde() {
        this.numClasses = 0;
    }

    /**
     * A serde that also rejects labels {@code >= numClasses}, on write and on read.
     *
     * @throws IllegalArgumentException unless {@code 1 <= numClasses <= 65536}
     */
    public ImageRecordSerde(int numClasses) {
        if (numClasses < 1 || numClasses > ImageRecord.MAX_U16 + 1) {
            throw new IllegalArgumentException("Invalid value " + numClasses + " for numClasses: must be in 1.."
                    + (ImageRecord.MAX_U16 + 1));
        }
        this.numClasses = numClasses;
    }

    /** The class count labels are checked against, or 0 when only the u16 range is checked. */
    public int numClasses() {
        return numClasses;
    }

    /** The Kafka key for sample {@code id}: 8 bytes, big-endian. */
    public static byte[] key(long id) {
        return ByteBuffer.allocate(KEY_BYTES).putLong(id).array();
    }

    /**
     * The sample id in a key written by {@link #key(long)}.
     *
     * @throws RecordFormatException {@code BAD_ID} when the key is not 8 bytes
     */
    public static long idFromKey(byte[] key) {
        if (key == null || key.length != KEY_BYTES) {
            throw new RecordFormatException(BAD_ID, "Invalid image record key of "
                    + (key == null ? "null" : key.length + " bytes") + ": expected the sample id as " + KEY_BYTES
                    + " bytes, big-endian");
        }
        return ByteBuffer.wrap(key).getLong();
    }

    /**
     * The record value of {@code record} in format version {@value #VERSION}.
     *
     * @throws RecordFormatException {@code LABEL_OUT_OF_RANGE} when the label is not below {@link #numClasses()}
     */
    public byte[] encode(ImageRecord record) {
        checkLabel(record.id(), record.label());
        byte[] payload = record.payload();
        ByteBuffer buf = ByteBuffer.allocate(HEADER_BYTES + payload.length);
        buf.put(MAGIC_0).put(MAGIC_1).put((byte) VERSION).put((byte) record.encoding().code())
                .putLong(record.id()).putInt(record.epoch())
                .putShort((short) record.label()).putShort((short) record.width()).putShort((short) record.height())
                .put((byte) record.channels()).put((byte) 0)
                .putInt(payload.length).put(payload);
        return buf.array();
    }

    /**
     * Reads a record. The payload is copied out of {@code value}; PNG and JPEG payloads are not decoded here (see
     * {@link ImageRecord#toSample()}).
     *
     * @param key the Kafka key, or null to skip the key check
     * @param value the Kafka value
     * @throws RecordFormatException when the value is not a valid version-1 image record, or the key disagrees with it
     */
    public ImageRecord decode(byte[] key, byte[] value) {
        if (value == null || value.length == 0) {
            throw new RecordFormatException(EMPTY_VALUE, "Empty image record value"
                    + (key != null && key.length == KEY_BYTES ? " for key " + idFromKey(key) : "")
                    + ": expected a " + HEADER_BYTES + "-byte header and a payload");
        }
        if (value.length < 2 || value[0] != MAGIC_0 || value[1] != MAGIC_1) {
            throw new RecordFormatException(BAD_MAGIC, "Not an image record: value starts with "
                    + hex(value, 2) + ", expected magic 0x5752 ('WR')");
        }
        if (value.length < 3) throw truncated(value.length, HEADER_BYTES, "header");
        int version = value[2] & 0xFF;
        if (version != VERSION) {
            throw new RecordFormatException(UNKNOWN_VERSION, "Unsupported image record format version " + version
                    + ": this reader supports version " + VERSION);
        }
        if (value.length < HEADER_BYTES) throw truncated(value.length, HEADER_BYTES, "header");
        ByteBuffer buf = ByteBuffer.wrap(value);
        ImageEncoding encoding = ImageEncoding.fromCode(value[3] & 0xFF);
        buf.position(4);
        long id = buf.getLong();
        int epoch = buf.getInt();
        int label = buf.getShort() & 0xFFFF;
        int width = buf.getShort() & 0xFFFF;
        int height = buf.getShort() & 0xFFFF;
        int channels = buf.get() & 0xFF;
        buf.get(); // reserved
        int length = buf.getInt();
        if (length < 0) {
            throw new RecordFormatException(SIZE_MISMATCH, "Image record " + id + " declares a negative payload length "
                    + length);
        }
        long expected = (long) HEADER_BYTES + length;
        if (value.length < expected) throw truncated(value.length, expected, "payload of image record " + id);
        if (value.length > expected) {
            throw new RecordFormatException(SIZE_MISMATCH, "Image record " + id + " has " + value.length
                    + " bytes but its header declares " + expected + " (" + HEADER_BYTES + " + payload " + length + ")");
        }
        if (key != null) {
            long keyId = idFromKey(key);
            if (keyId != id) {
                throw new RecordFormatException(BAD_ID, "Image record key " + keyId + " disagrees with sample id "
                        + id + " in the value");
            }
        }
        checkLabel(id, label);
        byte[] payload = new byte[length];
        buf.get(payload);
        return new ImageRecord(id, epoch, label, width, height, channels, encoding, payload);
    }

    private void checkLabel(long id, int label) {
        if (numClasses > 0 && label >= numClasses) {
            throw new RecordFormatException(LABEL_OUT_OF_RANGE, "Invalid label " + label + " in image record " + id
                    + ": must be in 0.." + (numClasses - 1) + " (" + numClasses + " classes)");
        }
    }

    private static RecordFormatException truncated(int actual, long expected, String what) {
        return new RecordFormatException(TRUNCATED, "Truncated image record: " + actual + " bytes, the " + what
                + " needs " + expected);
    }

    private static String hex(byte[] b, int n) {
        StringBuilder sb = new StringBuilder("0x");
        for (int i = 0; i < Math.min(n, b.length); i++) sb.append(String.format("%02x", b[i] & 0xFF));
        return sb.toString();
    }
}
