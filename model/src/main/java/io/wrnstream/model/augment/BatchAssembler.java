package io.wrnstream.model.augment;

import io.wrnstream.model.data.Sample;
import io.wrnstream.model.engine.Batch;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;

/**
 * Builds engine {@link Batch}es from samples: augmented for training, normalised only for evaluation, plus the
 * deterministic per-epoch shuffle and batch iterators an offline epoch loop needs.
 *
 * <pre>{@code
 * Iterator<Batch> it = BatchAssembler.trainBatches(train.samples(), 128, augmenter, seed, epoch);
 * while (it.hasNext()) engine.step(it.next());
 * }</pre>
 */
public final class BatchAssembler {

    private static final long SHUFFLE_SALT = 0x73687566_666c6521L; // "shuffle!"

    private BatchAssembler() {
    }

    /** One training batch: every sample augmented with its (seed, id, epoch) choices, in list order. */
    public static Batch trainBatch(List<Sample> samples, Augmenter a, long seed, long epoch) {
        Shape shape = shapeOf(samples, a);
        float[] x = new float[samples.size() * shape.size];
        int[] labels = new int[samples.size()];
        for (int i = 0; i < samples.size(); i++) {
            a.train(samples.get(i), seed, epoch, x, i * shape.size);
            labels[i] = samples.get(i).label();
        }
        return new Batch(x, labels, shape.channels, shape.height, shape.width);
    }

    /** One evaluation batch: samples normalised only, in list order. */
    public static Batch evalBatch(List<Sample> samples, Augmenter a) {
        Shape shape = shapeOf(samples, a);
        float[] x = new float[samples.size() * shape.size];
        int[] labels = new int[samples.size()];
        for (int i = 0; i < samples.size(); i++) {
            a.eval(samples.get(i), x, i * shape.size);
            labels[i] = samples.get(i).label();
        }
        return new Batch(x, labels, shape.channels, shape.height, shape.width);
    }

    /**
     * A new list holding {@code samples} in the order of epoch {@code epoch}: a Fisher-Yates shuffle driven by
     * SplitMix64 seeded from (seed, epoch), so the order is the same on every run and JDK.
     */
    public static List<Sample> shuffled(List<Sample> samples, long seed, long epoch) {
        List<Sample> out = new ArrayList<>(samples);
        long state = SplitMix.hash(seed ^ SHUFFLE_SALT, epoch, 0, 0);
        for (int i = out.size() - 1; i > 0; i--) {
            state += SplitMix.GOLDEN;
            int j = SplitMix.below(SplitMix.mix64(state), i + 1);
            Collections.swap(out, i, j);
        }
        return out;
    }

    /** Number of batches of at most {@code batchSize} covering {@code n} samples (the last may be partial). */
    public static int batchCount(int n, int batchSize) {
        checkBatchSize(batchSize);
        return (n + batchSize - 1) / batchSize;
    }

    /**
     * The training batches of one epoch: the samples {@link #shuffled} for {@code epoch}, cut into batches of
     * {@code batchSize} (the last one smaller when the size does not divide), each assembled lazily by
     * {@link #trainBatch}.
     */
    public static Iterator<Batch> trainBatches(List<Sample> samples, int batchSize, Augmenter a, long seed, long epoch) {
        checkBatchSize(batchSize);
        List<Sample> order = shuffled(samples, seed, epoch);
        return new Batches(order, batchSize, part -> trainBatch(part, a, seed, epoch));
    }

    /** The evaluation batches over {@code samples} in their order, batches of {@code batchSize}, the last one smaller. */
    public static Iterator<Batch> evalBatches(List<Sample> samples, int batchSize, Augmenter a) {
        checkBatchSize(batchSize);
        List<Sample> order = List.copyOf(samples);
        return new Batches(order, batchSize, part -> evalBatch(part, a));
    }

    private static void checkBatchSize(int batchSize) {
        if (batchSize < 1) {
            throw new IllegalArgumentException("Invalid value " + batchSize + " for batch size: must be >= 1 (the paper uses 128)");
        }
    }

    private record Shape(int channels, int height, int width, int size) {
    }

    private static Shape shapeOf(List<Sample> samples, Augmenter a) {
        if (samples.isEmpty()) throw new IllegalArgumentException("A batch needs at least one sample");
        Sample first = samples.get(0);
        for (Sample s : samples) {
            if (s.channels() != first.channels() || s.height() != first.height() || s.width() != first.width()) {
                throw new IllegalArgumentException("Cannot batch sample " + s.id() + " (" + s.channels() + "x" + s.height() + "x"
                        + s.width() + ") with sample " + first.id() + " (" + first.channels() + "x" + first.height() + "x"
                        + first.width() + "): all must have the same shape");
            }
        }
        AugmentConfig c = a.config();
        int h = c.outputHeight(first.height());
        int w = c.outputWidth(first.width());
        return new Shape(first.channels(), h, w, first.channels() * h * w);
    }

    private static final class Batches implements Iterator<Batch> {
        private final List<Sample> order;
        private final int batchSize;
        private final java.util.function.Function<List<Sample>, Batch> assemble;
        private int next;

        Batches(List<Sample> order, int batchSize, java.util.function.Function<List<Sample>, Batch> assemble) {
            this.order = order;
            this.batchSize = batchSize;
            this.assemble = assemble;
        }

        @Override
        public boolean hasNext() {
            return next < order.size();
        }

        @Override
        public Batch next() {
            if (!hasNext()) throw new NoSuchElementException("No batches left");
            int end = Math.min(order.size(), next + batchSize);
            Batch b = assemble.apply(order.subList(next, end));
            next = end;
            return b;
        }
    }
}
