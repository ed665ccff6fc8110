package io.wrnstream.model.engine;


import io.wrnstream.model.wrn.Topology;
import io.wrnstream.model.wrn.WrnConfig;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The canonical, engine-independent layout of a WRN's parameters in a snapshot: DL4J's flattened parameter vector
 * ({@code ComputationGraph.params()}), which the snapshot format (version 1) already stored before a second engine
 * existed. Every engine reads and writes this layout, so a model trained by one engine can be served or continued
 * by the other.
 *
 * <p>Entries in order, one per array ({@code ParamLayoutTest} pins it against DL4J: the graph's topological order, not {@code paramTable()}'s):
 * <pre>
 * stem.conv_W                      conv [out, in, 3, 3], row-major (the same in PyTorch)
 * per block (g1.b0, g1.b1, ..., g3.b{n-1}):
 *   bn1_gamma, bn1_beta, bn1_mean, bn1_log10stdev     [in] each
 *   conv1_W                        [out, in, 3, 3]
 *   shortcut_W (projection blocks) [out, in, 1, 1]
 *   bn2_gamma, bn2_beta, bn2_mean, bn2_log10stdev     [out] each
 *   conv2_W                        [out, out, 3, 3]
 * head.bn_gamma, _beta, _mean, _log10stdev            [64k]
 * output_W                         [classes, 64k] as PyTorch's Linear.weight: DL4J keeps [64k, classes] in column-major order, the same floats
 * output_b                         [classes]
 * </pre>
 * BatchNorm's running variance is stored as DL4J's {@code log10stdev}, {@code x = log10(sqrt(var))} (eps not
 * included: both engines add eps when they normalise); PyTorch's {@code running_var = 10^(2x)}.
 *
 * <p>The optimiser state ("updater" array) is laid out over the trainable entries only (running statistics have
 * none), in the same order: DL4J's Nesterov velocity {@code v}, which carries the learning rate
 * ({@code v = mu*v - lr*g}). PyTorch's buffer is lr-free ({@code b = mu*b + g}); {@code v = -lr*b} converts
 * between them exactly at a constant rate, using the rate of the next step ({@code learningRateAt(imagesSeen)}).
 */
public final class ParamLayout {

    /** What an array holds, which decides how an engine maps it. */
    public enum Kind {
        /** Convolution weight, {@code [out, in, kh, kw]}. */
        CONV_WEIGHT,
        /** BatchNorm scale. */
        BN_GAMMA,
        /** BatchNorm shift. */
        BN_BETA,
        /** BatchNorm running mean (not trainable). */
        BN_MEAN,
        /** BatchNorm running variance as {@code log10(sqrt(var))} (not trainable). */
        BN_LOG10_STD,
        /** Classifier weight, {@code [classes, features]} row-major. */
        DENSE_WEIGHT,
        /** Classifier bias. */
        DENSE_BIAS;

        /** Whether the array is learned by gradient descent (and so has optimiser state). */
        public boolean trainable() {
            return this != BN_MEAN && this != BN_LOG10_STD;
        }

        /** Whether weight decay applies with {@code decayBatchNorm} as given. */
        public boolean decayed(boolean decayBatchNorm) {
            return switch (this) {
                case CONV_WEIGHT, DENSE_WEIGHT, DENSE_BIAS -> true;
                case BN_GAMMA, BN_BETA -> decayBatchNorm;
                case BN_MEAN, BN_LOG10_STD -> false;
            };
        }
    }

    /**
     * One array of the layout.
     *
     * @param name DL4J's parameter-table key, {@code layer_param}
     * @param kind what it holds
     * @param shape its shape (PyTorch's convention)
     * @param offset first index in the flat parameter vector
     * @param updaterOffset first index in the flat optimiser state, or -1 when not trainable
     */
    public record Entry(String name, Kind kind, long[] shape, long offset, long updaterOffset) {
        /** Number of floats. */
        public long length() {
            return Arrays.stream(shape).reduce(1, (a, b) -> a * b);
        }

        /** The layer part of the name, for example {@code g2.b0.bn1}. */
        public String layer() {
            return name.substring(0, name.lastIndexOf('_'));
        }

        @Override
        public long[] shape() {
            return shape.clone();
        }
    }

    private final List<Entry> entries;
    private final long length;
    private final long trainableLength;

    private ParamLayout(List<Entry> entries, long length, long trainableLength) {
        this.entries = List.copyOf(entries);
        this.length = length;
        this.trainableLength = trainableLength;
    }

    /** The layout of {@code wrn}. */
    public static ParamLayout of(WrnConfig wrn) {
        Builder b = new Builder();
        Topology t = wrn.topology();
        b.conv(Topology.STEM, t.stemOut(), t.stemIn(), 3);
        for (Topology.Block block : t.blocks()) {
            b.bn(block.name() + ".bn1", block.in());
            b.conv(block.name() + ".conv1", block.out(), block.in(), 3);
            // DL4J flattens in topological order: the shortcut reads bn1's ReLU like conv1, so it comes next
            if (block.projection()) b.conv(block.name() + ".shortcut", block.out(), block.in(), 1);
            b.bn(block.name() + ".bn2", block.out());
            b.conv(block.name() + ".conv2", block.out(), block.out(), 3);
        }
        b.bn(Topology.HEAD + ".bn", t.features());
        b.add("output_W", Kind.DENSE_WEIGHT, t.classes(), t.features());
        b.add("output_b", Kind.DENSE_BIAS, t.classes());
        return new ParamLayout(b.entries, b.offset, b.updaterOffset);
    }

    /**
     * Fresh weights in this layout, drawn from {@code seed}: He-normal (std {@code sqrt(2/fanIn)}, like DL4J's
     * {@code WeightInit.RELU}) for convolutions and the classifier, BatchNorm gamma 1, beta 0, running mean 0 and
     * variance 1, classifier bias 0. The libtorch and worker engines start from these, so both start alike.
     */
    public float[] initialParams(long seed) {
        float[] p = new float[Math.toIntExact(length)];
        initialValues(seed, (e, values) -> System.arraycopy(values, 0, p, (int) e.offset(), values.length));
        return p;
    }

    /**
     * The values {@link #initialParams(long)} holds, one array at a time in canonical order (the same random stream),
     * for an engine that fills native memory without a full copy on the Java heap.
     */
    public void initialValues(long seed, java.util.function.BiConsumer<Entry, float[]> sink) {
        java.util.SplittableRandom random = new java.util.SplittableRandom(seed);
        for (Entry e : entries) {
            int n = (int) e.length();
            float[] p = new float[n];
            long[] s = e.shape();
            switch (e.kind()) {
                case CONV_WEIGHT, DENSE_WEIGHT -> {
                    long fanIn = n / s[0];
                    double std = Math.sqrt(2.0 / fanIn);
                    for (int i = 0; i < n; i++) p[i] = (float) (random.nextGaussian() * std);
                }
                case BN_GAMMA -> java.util.Arrays.fill(p, 1f);
                case BN_BETA, BN_MEAN, BN_LOG10_STD, DENSE_BIAS -> { /* zeros; log10(std) 0 is variance 1 */ }
            }
            sink.accept(e, p);
        }
    }

    /**
     * Refuses a snapshot's flat arrays that do not fit {@code config}: {@code params} of {@link #length()} values, and
     * {@code updater} of {@link #trainableLength()} (momentum) or none (plain SGD).
     *
     * @throws IllegalArgumentException naming both lengths
     */
    public void checkSnapshot(TrainConfig config, float[] params, float[] updater) {
        if (params.length != length) {
            throw new IllegalArgumentException("Snapshot has " + params.length + " parameters, but " + config.wrn().name()
                    + " has " + length);
        }
        long updLength = config.optim().momentum() > 0 ? trainableLength : 0;
        if (updater.length != updLength) {
            throw new IllegalArgumentException("Snapshot has " + updater.length + " optimiser values, expected " + updLength);
        }
    }

    /** The arrays in canonical order. */
    public List<Entry> entries() {
        return entries;
    }

    /** Length of the flat parameter vector (running statistics included). */
    public long length() {
        return length;
    }

    /** Number of trainable parameters, which is also the length of the flat optimiser state with momentum. */
    public long trainableLength() {
        return trainableLength;
    }

    private static final class Builder {
        final List<Entry> entries = new ArrayList<>();
        long offset;
        long updaterOffset;

        void conv(String layer, int out, int in, int k) {
            add(layer + "_W", Kind.CONV_WEIGHT, out, in, k, k);
        }

        void bn(String layer, int channels) {
            add(layer + "_gamma", Kind.BN_GAMMA, channels);
            add(layer + "_beta", Kind.BN_BETA, channels);
            add(layer + "_mean", Kind.BN_MEAN, channels);
            add(layer + "_log10stdev", Kind.BN_LOG10_STD, channels);
        }

        void add(String name, Kind kind, long... shape) {
            Entry e = new Entry(name, kind, shape, offset, kind.trainable() ? updaterOffset : -1);
            entries.add(e);
            offset += e.length();
            if (kind.trainable()) updaterOffset += e.length();
        }
    }
}
