package io.wrnstream.model.augment;

import io.wrnstream.model.data.Sample;
import java.util.Objects;

/**
 * Turns a {@link Sample} into normalised CHW floats: for training, reflection pad, random crop and random
 * horizontal flip (the paper's augmentation), then {@code (x / 255 - mean) / std}; for evaluation, normalisation
 * only (a centred crop of the padded image, which is the image itself when the crop is the input size).
 *
 * <p>The random choices are a pure function of (seed, sample id, epoch) through {@link #choose}: there is no
 * generator state, so a replay after a failure and any number of parallel operators produce the same pixels.
 * Immutable and thread-safe.
 *
 * <pre>{@code
 * Augmenter aug = new Augmenter(AugmentConfig.paper(), Normalization.CIFAR10);
 * float[] x = new float[3 * 32 * 32];
 * aug.train(sample, seed, epoch, x, 0);
 * }</pre>
 */
public final class Augmenter {

    /** Salt that separates the augmentation stream from other users of the same seed (such as the shuffle). */
    private static final long SALT = 0x61756720_63726f70L; // "aug crop"

    /**
     * The random choices for one sample in one epoch.
     *
     * @param dx column of the crop's left edge in the padded image, {@code 0..(W + 2 pad - cropWidth)}
     * @param dy row of the crop's top edge in the padded image, {@code 0..(H + 2 pad - cropHeight)}
     * @param flip whether the crop is mirrored left-right
     */
    public record Choice(int dx, int dy, boolean flip) {
    }

    private final AugmentConfig config;
    private final Normalization normalization;
    /** lut[c][v] = normalised value of byte v in channel c: one table look-up per output pixel. */
    private final float[][] lut;

    /** The paper's augmentation for images of {@code channels} channels ({@link Normalization#forChannels}). */
    public static Augmenter paper(int channels) {
        return new Augmenter(AugmentConfig.paper(), Normalization.forChannels(channels));
    }

    /** An augmenter applying {@code config} then {@code normalization}. */
    public Augmenter(AugmentConfig config, Normalization normalization) {
        this.config = Objects.requireNonNull(config, "config");
        this.normalization = Objects.requireNonNull(normalization, "normalization");
        this.lut = normalization.table();
    }

    /** The augmentation settings. */
    public AugmentConfig config() {
        return config;
    }

    /** The normalisation. */
    public Normalization normalization() {
        return normalization;
    }

    /** Floats written per image of {@code channels x height x width}. */
    public int outputSize(int channels, int height, int width) {
        return channels * config.outputHeight(height) * config.outputWidth(width);
    }

    /**
     * The crop offset and flip for sample {@code id} in {@code epoch}, when the crop is the input size (then the
     * offsets range over {@code 0..2 pad} whatever the image size).
     *
     * @throws IllegalStateException when the config sets an explicit crop size; use the overload with the image size
     */
    public Choice choose(long seed, long id, long epoch) {
        if (config.cropHeight() != 0 || config.cropWidth() != 0) {
            throw new IllegalStateException("augment.crop-height/crop-width are set explicitly, so the crop range depends"
                    + " on the image size: call choose(seed, id, epoch, height, width)");
        }
        return chooseInRange(seed, id, epoch, 2 * config.pad() + 1, 2 * config.pad() + 1);
    }

    /** The crop offset and flip for sample {@code id} in {@code epoch} for an image of {@code height x width}. */
    public Choice choose(long seed, long id, long epoch, int height, int width) {
        return chooseInRange(seed, id, epoch, rangeY(height), rangeX(width));
    }

    private Choice chooseInRange(long seed, long id, long epoch, int rangeY, int rangeX) {
        long h = SplitMix.hash(seed ^ SALT, id, epoch, 0);
        int dy = SplitMix.below(SplitMix.mix64(h + SplitMix.GOLDEN), rangeY);
        int dx = SplitMix.below(SplitMix.mix64(h + 2 * SplitMix.GOLDEN), rangeX);
        boolean flip = config.flip() && SplitMix.mix64(h + 3 * SplitMix.GOLDEN) < 0;
        return new Choice(dx, dy, flip);
    }

    /**
     * Writes the augmented, normalised image (CHW, {@link #outputSize} floats) to {@code dst} at {@code offset}:
     * reflection pad, crop at {@link #choose}'s offset, flip if chosen, normalise.
     */
    public void train(Sample s, long seed, long epoch, float[] dst, int offset) {
        checkShape(s);
        Choice c = chooseInRange(seed, s.id(), epoch, rangeY(s.height()), rangeX(s.width()));
        write(s, c.dy(), c.dx(), c.flip(), dst, offset);
    }

    /**
     * As {@link #train(Sample, long, long, float[], int)} without the normalisation: the augmented image as bytes (CHW,
     * {@link #outputSize} bytes). Crop and flip are exact on bytes, and {@link Normalization#apply} of these bytes gives
     * exactly the floats {@code train} writes, so the trainer can receive a quarter of the bytes and normalise later.
     */
    public void trainPixels(Sample s, long seed, long epoch, byte[] dst, int offset) {
        checkShape(s);
        Choice c = chooseInRange(seed, s.id(), epoch, rangeY(s.height()), rangeX(s.width()));
        int h = s.height();
        int w = s.width();
        int ch = config.outputHeight(h);
        int cw = config.outputWidth(w);
        int n = s.channels() * ch * cw;
        if (offset < 0 || offset > dst.length - n) {
            throw new IllegalArgumentException("Destination of " + dst.length + " bytes has no room for " + n + " bytes at offset " + offset);
        }
        int[] rowStart = rowStarts(c.dy(), h, w, ch);
        int[] col = columns(c.dx(), c.flip(), w, cw);
        byte[] p = s.pixels();
        int o = offset;
        for (int k = 0; k < s.channels(); k++) {
            int plane = k * h * w;
            for (int y = 0; y < ch; y++) {
                int row = plane + rowStart[y];
                for (int x = 0; x < cw; x++) dst[o++] = p[row + col[x]];
            }
        }
    }

    /** Writes the normalised image without random augmentation (CHW, {@link #outputSize} floats). */
    public void eval(Sample s, float[] dst, int offset) {
        checkShape(s);
        // Centre of the padded image: with the crop the input size this is exactly the unpadded image.
        write(s, (rangeY(s.height()) - 1) / 2, (rangeX(s.width()) - 1) / 2, false, dst, offset);
    }

    private int rangeY(int height) {
        return height + 2 * config.pad() - config.outputHeight(height) + 1;
    }

    private int rangeX(int width) {
        return width + 2 * config.pad() - config.outputWidth(width) + 1;
    }

    private void checkShape(Sample s) {
        if (s.channels() != lut.length) {
            throw new IllegalArgumentException("Sample " + s.id() + " has " + s.channels() + " channels but the normalization has "
                    + lut.length);
        }
        int pad = config.pad();
        if (pad >= s.height() || pad >= s.width()) {
            throw new IllegalArgumentException("Invalid value " + pad + " for augment.pad with " + s.height() + "x" + s.width()
                    + " images: reflection padding needs pad < height and pad < width");
        }
        int ch = config.outputHeight(s.height());
        int cw = config.outputWidth(s.width());
        if (ch > s.height() + 2 * pad || cw > s.width() + 2 * pad) {
            throw new IllegalArgumentException("Invalid crop " + ch + "x" + cw + " for augment.crop-height/crop-width: larger than the "
                    + (s.height() + 2 * pad) + "x" + (s.width() + 2 * pad) + " padded image");
        }
    }

    /** Copies the crop at (dy, dx) of the reflection-padded image, mirrored if asked, through the look-up table. */
    private void write(Sample s, int dy, int dx, boolean flip, float[] dst, int offset) {
        int h = s.height();
        int w = s.width();
        int ch = config.outputHeight(h);
        int cw = config.outputWidth(w);
        int channels = s.channels();
        int n = channels * ch * cw;
        if (offset < 0 || offset > dst.length - n) {
            throw new IllegalArgumentException("Destination of " + dst.length + " floats has no room for " + n
                    + " floats at offset " + offset);
        }
        // Source index of every output row and column, computed once per image instead of per pixel.
        int[] rowStart = rowStarts(dy, h, w, ch);
        int[] col = columns(dx, flip, w, cw);
        byte[] p = s.pixels();
        int o = offset;
        for (int c = 0; c < channels; c++) {
            float[] table = lut[c];
            int plane = c * h * w;
            for (int y = 0; y < ch; y++) {
                int row = plane + rowStart[y];
                for (int x = 0; x < cw; x++) dst[o++] = table[p[row + col[x]] & 0xFF];
            }
        }
    }

    /** Start of the source row of every output row of the crop at {@code dy} in the reflection-padded image. */
    private int[] rowStarts(int dy, int h, int w, int ch) {
        int[] rowStart = new int[ch];
        for (int y = 0; y < ch; y++) rowStart[y] = reflect(y + dy - config.pad(), h) * w;
        return rowStart;
    }

    /** Source column of every output column of the crop at {@code dx}, mirrored if {@code flip}. */
    private int[] columns(int dx, boolean flip, int w, int cw) {
        int[] col = new int[cw];
        for (int x = 0; x < cw; x++) col[x] = reflect((flip ? cw - 1 - x : x) + dx - config.pad(), w);
        return col;
    }

    /** Reflection without repeating the edge (PyTorch ReflectionPad2d): -1 -> 1, n -> n - 2. */
    static int reflect(int i, int n) {
        if (i < 0) return -i;
        if (i >= n) return 2 * (n - 1) - i;
        return i;
    }
}
