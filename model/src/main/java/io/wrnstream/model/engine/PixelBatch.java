package io.wrnstream.model.engine;

import io.wrnstream.model.augment.Normalization;
import java.util.Objects;

/**
 * A minibatch as the augmentation leaves it: uint8 pixels in NCHW order (cropped and flipped, not normalised), the
 * labels, and the normalisation the engine applies. A quarter of the bytes of a {@link Batch}: this is what travels
 * from the augmenters to the trainer and sits in its checkpointed pending images. {@link #toBatch()} normalises on the
 * CPU with the same per-byte formula as {@link io.wrnstream.model.augment.Augmenter#train}, so both forms train
 * bit-identically; an engine with a device may instead copy the bytes there and normalise on it.
 *
 * @param pixels {@code n * channels * height * width} bytes (0..255), NCHW
 * @param labels {@code n} class indices
 * @param channels channels per image
 * @param height image height
 * @param width image width
 * @param normalization per-channel mean and std applied to {@code pixel / 255}
 */
public record PixelBatch(byte[] pixels, int[] labels, int channels, int height, int width, Normalization normalization) {

    public PixelBatch {
        Objects.requireNonNull(pixels, "pixels");
        Objects.requireNonNull(labels, "labels");
        Objects.requireNonNull(normalization, "normalization");
        if (labels.length == 0) throw new IllegalArgumentException("A batch needs at least one image");
        long expected = (long) labels.length * channels * height * width;
        if (pixels.length != expected) {
            throw new IllegalArgumentException("Batch of " + labels.length + " images of " + channels + "x" + height + "x" + width
                    + " needs " + expected + " bytes, got " + pixels.length);
        }
        if (normalization.channels() != channels) {
            throw new IllegalArgumentException("Batch of " + channels + "-channel images with a normalization of "
                    + normalization.channels() + " channels");
        }
    }

    /** Number of images in the batch. */
    public int size() {
        return labels.length;
    }

    /** The normalised float batch, bit-identical to what the augmenter's float path writes for the same pixels. */
    public Batch toBatch() {
        float[][] lut = normalization.table();
        float[] x = new float[pixels.length];
        int plane = height * width;
        for (int i = 0; i < pixels.length; i++) x[i] = lut[(i / plane) % channels][pixels[i] & 0xFF];
        return new Batch(x, labels, channels, height, width);
    }
}
