package io.wrnstream.kafka.ingest;

import java.util.Locale;

/** How {@link Ingest} encodes pixels into record payloads. */
public enum IngestEncoding {
    /** {@link #SOURCE} for JPEG/PNG image files and zips, {@link #RAW} for binary formats (IDX, CIFAR binary). */
    AUTO,
    /** Uncompressed CHW bytes. */
    RAW,
    /** Re-encoded as PNG (lossless). */
    PNG,
    /** Re-encoded as JPEG. */
    JPEG,
    /** The bytes as stored: JPEG/PNG files are sent unchanged (no re-encoding); binary formats are sent raw. */
    SOURCE;

    /**
     * Parses {@code auto|raw|png|jpeg|source}, case-insensitive.
     *
     * @throws IllegalArgumentException naming the value and the allowed ones
     */
    public static IngestEncoding parse(String value) {
        if (value != null) {
            for (IngestEncoding e : values()) {
                if (e.name().equalsIgnoreCase(value.trim())) return e;
            }
        }
        throw new IllegalArgumentException("Invalid value " + (value == null ? "null" : "'" + value + "'")
                + " for encoding: must be one of auto, raw, png, jpeg, source");
    }

    @Override
    public String toString() {
        return name().toLowerCase(Locale.ROOT);
    }
}
