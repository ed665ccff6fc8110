package io.wrnstream.kafka.format;

/**
 * How the pixels of an {@link ImageRecord} payload are encoded. The {@link #code()} is the byte written at offset 3
 * of the record value, so codes are part of the wire format and must never be renumbered.
 */
public enum ImageEncoding {
    /** Uncompressed uint8 pixels in CHW order, exactly {@code channels * height * width} bytes. */
    RAW(0),
    /** A PNG file (lossless). */
    PNG(1),
    /** A baseline JPEG/JFIF file (lossy; kept as-is from JPEG sources). */
    JPEG(2);

    private final int code;

    ImageEncoding(int code) {
        this.code = code;
    }

    /** The wire code of this encoding (0..255). */
    public int code() {
        return code;
    }

    /**
     * The encoding with wire code {@code code}.
     *
     * @throws RecordFormatException with reason {@link RecordFormatException.Reason#UNKNOWN_ENCODING} for other codes
     */
    public static ImageEncoding fromCode(int code) {
        for (ImageEncoding e : values()) {
            if (e.code == code) return e;
        }
        throw new RecordFormatException(RecordFormatException.Reason.UNKNOWN_ENCODING,
                "Unknown pixel encoding " + code + " in image record: expected 0 (raw), 1 (png) or 2 (jpeg)");
    }
}
