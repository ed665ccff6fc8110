package io.wrnstream.model.augment;

import io.wrnstream.model.data.Sample;
import java.util.Arrays;
import java.util.List;

/**
 * Per-channel normalisation {@code (x / 255 - mean[c]) / std[c]}, statistics on the 0..1 scale.
 *
 * @param mean per-channel mean, finite
 * @param std per-channel standard deviation, finite and {@code > 0}
 */
public record Normalization(float[] mean, float[] std) {

    /** CIFAR-10 training-set statistics as used by the reference WRN code. */
    public static final Normalization CIFAR10 = new Normalization(
            new float[] {0.4914f, 0.4822f, 0.4465f}, new float[] {0.2470f, 0.2435f, 0.2616f});

    /** Fashion-MNIST training-set statistics (computed over its 60,000 training images: 0.28604, 0.35302). */
    public static final Normalization FASHION_MNIST = new Normalization(new float[] {0.2860f}, new float[] {0.3530f});

    /** The normalisation for images of {@code channels} channels: CIFAR-10 statistics for colour, Fashion-MNIST for grey. */
    public static Normalization forChannels(int channels) {
        return channels == 1 ? FASHION_MNIST : CIFAR10;
    }

    public Normalization {
        if (mean == null || std == null) {
            throw new IllegalArgumentException("Invalid normalization: both mean and std are required");
        }
        if (mean.length == 0) {
            throw new IllegalArgumentException("Invalid normalization: needs at least one channel, got 0");
        }
        if (mean.length != std.length) {
            throw new IllegalArgumentException("Invalid normalization: mean has " + mean.length + " channels but std has "
                    + std.length + "; they must be equal");
        }
        for (int c = 0; c < mean.length; c++) {
            if (!Float.isFinite(mean[c])) {
                throw new IllegalArgumentException("Invalid value " + mean[c] + " for normalization.mean[" + c
                        + "]: must be finite (0..1 scale)");
            }
            if (!(std[c] > 0) || !Float.isFinite(std[c])) {
                throw new IllegalArgumentException("Invalid value " + std[c] + " for normalization.std[" + c
                        + "]: must be finite and > 0 (0..1 scale)");
            }
        }
        mean = mean.clone();
        std = std.clone();
    }

    /** Per-channel means (a copy). */
    @Override
    public float[] mean() {
        return mean.clone();
    }

    /** Per-channel standard deviations (a copy). */
    @Override
    public float[] std() {
        return std.clone();
    }

    /** Number of channels. */
    public int channels() {
        return mean.length;
    }

    /** {@code table()[c][v]} = {@link #apply}{@code (c, v)}: the normalised value of every byte in every channel. */
    public float[][] table() {
        float[][] t = new float[mean.length][256];
        for (int c = 0; c < t.length; c++) {
            for (int v = 0; v < 256; v++) t[c][v] = apply(c, v);
        }
        return t;
    }

    /** Normalised value of pixel byte {@code v} (0..255) in channel {@code c}; the formula every path uses. */
    public float apply(int c, int v) {
        return (v / 255f - mean[c]) / std[c];
    }

    /**
     * Per-channel mean and (population) standard deviation of the pixels of {@code samples} on the 0..1 scale,
     * computed exactly with integer sums.
     *
     * @throws IllegalArgumentException when {@code samples} is empty, the channel counts differ, or a channel is constant
     */
    public static Normalization compute(List<Sample> samples) {
        if (samples == null || samples.isEmpty()) {
            throw new IllegalArgumentException("Cannot compute a normalization from no samples: the training set is empty");
        }
        int channels = samples.get(0).channels();
        long[] sum = new long[channels];
        long[] sumSq = new long[channels];
        long[] count = new long[channels];
        for (Sample s : samples) {
            if (s.channels() != channels) {
                throw new IllegalArgumentException("Cannot compute a normalization: sample " + s.id() + " has " + s.channels()
                        + " channels, sample " + samples.get(0).id() + " has " + channels + "; all must match");
            }
            byte[] p = s.pixels();
            int plane = s.height() * s.width();
            for (int c = 0; c < channels; c++) {
                long a = 0;
                long b = 0;
                for (int i = c * plane, end = i + plane; i < end; i++) {
                    int v = p[i] & 0xFF;
                    a += v;
                    b += v * v;
                }
                sum[c] += a;
                sumSq[c] += b;
                count[c] += plane;
            }
        }
        float[] mean = new float[channels];
        float[] std = new float[channels];
        for (int c = 0; c < channels; c++) {
            double m = (double) sum[c] / count[c];
            double var = (double) sumSq[c] / count[c] - m * m;
            mean[c] = (float) (m / 255.0);
            std[c] = (float) (Math.sqrt(Math.max(var, 0)) / 255.0);
            if (!(std[c] > 0)) {
                throw new IllegalArgumentException("Cannot compute a normalization: channel " + c
                        + " is constant (std 0) over the " + samples.size() + " samples");
            }
        }
        return new Normalization(mean, std);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Normalization n && Arrays.equals(mean, n.mean) && Arrays.equals(std, n.std);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(mean) + Arrays.hashCode(std);
    }

    @Override
    public String toString() {
        return "Normalization[mean=" + Arrays.toString(mean) + ", std=" + Arrays.toString(std) + "]";
    }
}
