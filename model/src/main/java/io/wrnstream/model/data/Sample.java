package io.wrnstream.model.data;

import java.util.Arrays;
import java.util.Objects;

/**
 * One labelled image in the compact in-memory form every reader produces and every consumer takes:
 * uint8 pixels in CHW order (channel planes, then rows, then columns) plus a class label.
 *
 * <p>{@code id} is a stable identifier of the sample within its dataset split (readers number the
 * entries in their natural order); augmentation derives its random choices from it, so it must not
 * change between replays.
 *
 * @param id stable sample id within its split, {@code >= 0}
 * @param label class index, {@code >= 0}
 * @param channels number of channels (3 for CIFAR, 1 for Fashion-MNIST)
 * @param height image height in pixels
 * @param width image width in pixels
 * @param pixels {@code channels * height * width} bytes, CHW, each an unsigned 0..255 value
 */
public record Sample(long id, int label, int channels, int height, int width, byte[] pixels) {

    public Sample {
        if (id < 0) throw new IllegalArgumentException("Invalid sample id " + id + ": must be >= 0");
        if (label < 0) throw new IllegalArgumentException("Invalid label " + label + " for sample " + id + ": must be >= 0");
        if (channels < 1 || height < 1 || width < 1) {
            throw new IllegalArgumentException("Invalid shape " + channels + "x" + height + "x" + width
                    + " for sample " + id + ": every dimension must be >= 1");
        }
        Objects.requireNonNull(pixels, "pixels");
        if (pixels.length != channels * height * width) {
            throw new IllegalArgumentException("Sample " + id + " has " + pixels.length + " pixel bytes, expected "
                    + channels + "*" + height + "*" + width + " = " + (channels * height * width));
        }
    }

    /** Pixel value (0..255) at channel {@code c}, row {@code y}, column {@code x}. */
    public int pixel(int c, int y, int x) {
        return pixels[(c * height + y) * width + x] & 0xFF;
    }

    /** Number of pixel bytes, {@code channels * height * width}. */
    public int size() {
        return pixels.length;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Sample s && id == s.id && label == s.label && channels == s.channels
                && height == s.height && width == s.width && Arrays.equals(pixels, s.pixels);
    }

    @Override
    public int hashCode() {
        return Objects.hash(id, label, channels, height, width) * 31 + Arrays.hashCode(pixels);
    }

    @Override
    public String toString() {
        return "Sample[id=" + id + ", label=" + label + ", " + channels + "x" + height + "x" + width + "]";
    }
}
