package io.wrnstream.model.data;

/**
 * What a PNG or JPEG file declares about its pixels, read from its header without decoding: the PNG IHDR chunk or
 * the first JPEG start-of-frame marker (SOF0 baseline, SOF1 extended, SOF2 progressive; the other SOF kinds are not
 * decodable by javax.imageio and are refused here).
 *
 * @param format "PNG" or "JPEG"
 * @param width declared width in pixels, {@code >= 1}
 * @param height declared height in pixels, {@code >= 1}
 * @param channels channels the decoder produces from it: 1 (grey, grey + alpha) or 3 (colour, palette, colour + alpha)
 */
public record ImageHeader(String format, int width, int height, int channels) {

    /** The format name of PNG files. */
    public static final String PNG = "PNG";
    /** The format name of JPEG files. */
    public static final String JPEG = "JPEG";

    /** True when {@code b} starts with the PNG signature. */
    public static boolean isPng(byte[] b) {
        return b != null && b.length >= 8 && (b[0] & 0xFF) == 0x89 && b[1] == 'P' && b[2] == 'N' && b[3] == 'G'
                && b[4] == 0x0D && b[5] == 0x0A && b[6] == 0x1A && b[7] == 0x0A;
    }

    /** True when {@code b} starts with the JPEG start-of-image marker. */
    public static boolean isJpeg(byte[] b) {
        return b != null && b.length >= 3 && (b[0] & 0xFF) == 0xFF && (b[1] & 0xFF) == 0xD8 && (b[2] & 0xFF) == 0xFF;
    }

    /** The format {@code b}'s signature names ({@link #PNG} or {@link #JPEG}), or null for neither. */
    public static String formatOf(byte[] b) {
        return isPng(b) ? PNG : isJpeg(b) ? JPEG : null;
    }

    /**
     * Reads the header of a PNG or JPEG file.
     *
     * @throws ImageDecodeException when the signature is neither, or the header is missing, truncated or declares
     *     a zero or negative dimension
     */
    public static ImageHeader probe(byte[] b) {
        if (isPng(b)) return png(b);
        if (isJpeg(b)) return jpeg(b);
        throw new ImageDecodeException("not a decodable JPEG/PNG (unknown signature)");
    }

    private static ImageHeader png(byte[] b) {
        // Signature (8), then the IHDR chunk, which must come first: length 13, "IHDR", width, height, depth, colour type.
        if (b.length < 8 + 8 + 13) throw new ImageDecodeException("truncated PNG: " + b.length + " bytes, no complete IHDR chunk");
        if (u32(b, 8) != 13 || b[12] != 'I' || b[13] != 'H' || b[14] != 'D' || b[15] != 'R') {
            throw new ImageDecodeException("malformed PNG: the first chunk is not a 13-byte IHDR");
        }
        long w = u32(b, 16), h = u32(b, 20);
        int colourType = b[25] & 0xFF;
        int channels = switch (colourType) {
            case 0, 4 -> 1;      // grey, grey + alpha
            case 2, 3, 6 -> 3;   // RGB, palette, RGBA
            default -> throw new ImageDecodeException("malformed PNG: unknown colour type " + colourType);
        };
        return of(PNG, w, h, channels);
    }

    private static ImageHeader jpeg(byte[] b) {
        int i = 2;
        while (i + 4 <= b.length) {
            if ((b[i] & 0xFF) != 0xFF) throw new ImageDecodeException("malformed JPEG: no marker at byte " + i);
            int marker = b[i + 1] & 0xFF;
            if (marker == 0xFF) { // fill byte
                i++;
                continue;
            }
            if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8)) { // TEM, RSTn, SOI: no length
                i += 2;
                continue;
            }
            if (marker == 0xD9 || marker == 0xDA) {
                throw new ImageDecodeException("malformed JPEG: " + (marker == 0xDA ? "scan" : "end of image")
                        + " before any start-of-frame marker");
            }
            int length = ((b[i + 2] & 0xFF) << 8) | (b[i + 3] & 0xFF);
            if (length < 2) throw new ImageDecodeException("malformed JPEG: segment length " + length + " at byte " + i);
            boolean sof = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
            if (sof) {
                if (marker > 0xC2) {
                    throw new ImageDecodeException("unsupported JPEG: SOF" + (marker - 0xC0)
                            + " (only baseline, extended and progressive DCT are decodable)");
                }
                if (i + 2 + 8 > b.length || length < 8) throw new ImageDecodeException("truncated JPEG start-of-frame marker");
                int h = ((b[i + 5] & 0xFF) << 8) | (b[i + 6] & 0xFF);
                int w = ((b[i + 7] & 0xFF) << 8) | (b[i + 8] & 0xFF);
                int components = b[i + 9] & 0xFF;
                if (components != 1 && components != 3) {
                    throw new ImageDecodeException("unsupported JPEG: " + components + " components (1 or 3 are decodable)");
                }
                return of(JPEG, w, h, components);
            }
            i += 2 + length;
        }
        throw new ImageDecodeException("truncated JPEG: no start-of-frame marker in " + b.length + " bytes");
    }

    private static ImageHeader of(String format, long w, long h, int channels) {
        if (w < 1 || h < 1 || w > Integer.MAX_VALUE || h > Integer.MAX_VALUE) {
            throw new ImageDecodeException("malformed " + format + ": header declares " + w + "x" + h + " pixels (WxH)");
        }
        return new ImageHeader(format, (int) w, (int) h, channels);
    }

    private static long u32(byte[] b, int at) {
        return ((long) (b[at] & 0xFF) << 24) | ((b[at + 1] & 0xFF) << 16) | ((b[at + 2] & 0xFF) << 8) | (b[at + 3] & 0xFF);
    }
}
