package io.wrnstream.model.data;

/**
 * Bounds on one image decode, checked against the encoded size and the dimensions the file declares (PNG IHDR, JPEG
 * SOF) before a decoder allocates anything for the pixels.
 *
 * <pre>{@code
 * ImageLimits exact = ImageLimits.exactly(3, 32, 32);       // a CIFAR record: nothing but 3x32x32 is decoded
 * Sample s = Datasets.decodeImage(id, label, bytes, exact);
 * }</pre>
 *
 * @param maxPixels most {@code width * height} the file may declare
 * @param maxEncodedBytes most bytes the encoded file may have
 * @param width the width the file must declare, or 0 for any width within {@code maxPixels}
 * @param height the height the file must declare, or 0 for any
 * @param channels the channels the file must decode to (1 or 3), or 0 for any
 */
public record ImageLimits(long maxPixels, int maxEncodedBytes, int width, int height, int channels) {

    /**
     * The bound of dataset files: 4096 x 4096 pixels (about 170 MB while decoding: the raster, an ARGB copy and the
     * CHW output), 64 MiB encoded.
     */
    public static final ImageLimits DEFAULT = new ImageLimits(4096L * 4096, 64 << 20, 0, 0, 0);

    /** Encoded bytes allowed per decoded byte of an exact shape, plus {@link #METADATA_BYTES}: PNG/JPEG of noise stay below 2x. */
    static final int BYTES_PER_PIXEL_BYTE = 4;
    /** Room for metadata chunks (ICC profile, EXIF) in an exact-shape bound. */
    static final int METADATA_BYTES = 256 << 10;

    public ImageLimits {
        if (maxPixels < 1) throw new IllegalArgumentException("Invalid value " + maxPixels + " for maxPixels: must be >= 1");
        if (maxEncodedBytes < 1) {
            throw new IllegalArgumentException("Invalid value " + maxEncodedBytes + " for maxEncodedBytes: must be >= 1");
        }
        if (width < 0 || height < 0 || (width == 0) != (height == 0)) {
            throw new IllegalArgumentException("Invalid shape " + height + "x" + width + ": width and height must both be"
                    + " 0 (any) or both >= 1");
        }
        if (channels != 0 && channels != 1 && channels != 3) {
            throw new IllegalArgumentException("Invalid value " + channels + " for channels: must be 0 (any), 1 or 3");
        }
    }

    /** Only images of exactly this shape, and at most {@value #BYTES_PER_PIXEL_BYTE} encoded bytes per pixel byte plus 256 KiB. */
    public static ImageLimits exactly(int channels, int height, int width) {
        long bytes = (long) channels * height * width * BYTES_PER_PIXEL_BYTE + METADATA_BYTES;
        return new ImageLimits((long) height * width, (int) Math.min(Integer.MAX_VALUE - 8, bytes), width, height, channels);
    }

    /** Fails with the reason when {@code header} (of a file of {@code encodedBytes}) is outside these bounds. */
    void check(ImageHeader header, int encodedBytes) {
        if (width != 0 && (header.width() != width || header.height() != height)) {
            throw new ImageDecodeException("the " + header.format() + " header declares " + header.width() + "x"
                    + header.height() + " pixels (WxH) but " + width + "x" + height + " are expected; not decoded");
        }
        if (channels != 0 && header.channels() != channels) {
            throw new ImageDecodeException("the " + header.format() + " header declares " + header.channels()
                    + " channel(s) but " + channels + " are expected; not decoded");
        }
        long pixels = (long) header.width() * header.height();
        if (pixels > maxPixels) {
            throw new ImageDecodeException("the " + header.format() + " header declares " + header.width() + "x"
                    + header.height() + " = " + pixels + " pixels, above the bound of " + maxPixels + "; not decoded");
        }
        if (encodedBytes > maxEncodedBytes) {
            throw new ImageDecodeException(encodedBytes + " encoded bytes, above the bound of " + maxEncodedBytes
                    + " for " + header.width() + "x" + header.height() + " pixels; not decoded");
        }
    }
}
