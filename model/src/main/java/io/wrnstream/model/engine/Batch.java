package io.wrnstream.model.engine;

import java.util.Objects;

/**
 * A minibatch ready for an engine: normalised float pixels in NCHW order plus integer labels.
 * Engines copy what they need; callers may reuse the arrays after the call returns.
 *
 * @param x {@code n * channels * height * width} floats, NCHW
 * @param labels {@code n} class indices
 * @param channels channels per image
 * @param height image height
 * @param width image width
 */
public record Batch(float[] x, int[] labels, int channels, int height, int width) {

    public Batch {
        Objects.requireNonNull(x, "x");
        Objects.requireNonNull(labels, "labels");
        if (labels.length == 0) throw new IllegalArgumentException("A batch needs at least one image");
        long expected = (long) labels.length * channels * height * width;
        if (x.length != expected) {
            throw new IllegalArgumentException("Batch of " + labels.length + " images of " + channels + "x" + height + "x"
                    + width + " needs " + expected + " floats, got " + x.length);
        }
    }

    /** Number of images in the batch. */
    public int size() {
        return labels.length;
    }
}
