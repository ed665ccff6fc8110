package io.wrnstream.kafka.format;

import java.util.Objects;

/**
 * A Kafka record that does not follow the image record format of {@link ImageRecordSerde}, or an
 * {@link ImageRecord} that cannot be written in it. {@link #reason()} says what is wrong in a form a consumer can
 * branch on (for example to count and skip corrupt records), the message says it for a human.
 */
public class RecordFormatException extends RuntimeException {

    /** Machine-readable cause of a {@link RecordFormatException}. */
    public enum Reason {
        /** The record value is null or has no bytes (for example a tombstone). */
        EMPTY_VALUE,
        /** The value does not start with the magic bytes {@code 'W' 'R'}: it is not an image record. */
        BAD_MAGIC,
        /** The format version byte is not one this reader understands. */
        UNKNOWN_VERSION,
        /** The pixel encoding byte is not one of the known {@link ImageEncoding} codes. */
        UNKNOWN_ENCODING,
        /** The value ends before its fixed header or before the payload length it declares. */
        TRUNCATED,
        /** A dimension is zero or outside the format's range, or a decoded image has another shape. */
        BAD_SHAPE,
        /** The label is negative, above the u16 range, or not below the expected number of classes. */
        LABEL_OUT_OF_RANGE,
        /** The sample id or epoch is negative, or the key disagrees with the id in the value. */
        BAD_ID,
        /** A PNG or JPEG payload cannot be decoded. */
        UNDECODABLE_IMAGE,
        /** The payload length disagrees with the shape (raw) or with the bytes that follow the header. */
        SIZE_MISMATCH
    }

    private final Reason reason;

    public RecordFormatException(Reason reason, String message) {
        super(message);
        this.reason = Objects.requireNonNull(reason, "reason");
    }

    public RecordFormatException(Reason reason, String message, Throwable cause) {
        super(message, cause);
        this.reason = Objects.requireNonNull(reason, "reason");
    }

    /** What is wrong with the record. */
    public Reason reason() {
        return reason;
    }
}
