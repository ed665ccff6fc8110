package io.wrnstream.serve;

import io.wrnstream.model.augment.Augmenter;
import io.wrnstream.model.augment.Normalization;
import io.wrnstream.model.data.Datasets;
import io.wrnstream.model.data.Sample;
import io.wrnstream.model.engine.Batch;
import io.wrnstream.model.engine.Engines;
import io.wrnstream.model.engine.Predictor;
import io.wrnstream.model.io.ModelFile;
import io.wrnstream.model.wrn.WrnConfig;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One loaded model, immutable apart from its reference count: the engine, its metadata, class names and the
 * normalisation of training. Requests {@link #acquire()} it and {@link #release()} it; the server holds one reference
 * while it is current and drops it on a swap, and the engine is closed when the last reference goes, so a swap never
 * closes an engine under a running request.
 *
 * <p>Normalisation: model files do not record it, so it is derived from the input channels exactly as the training job
 * does ({@link Normalization#forChannels}: CIFAR-10 statistics for 3 channels, Fashion-MNIST for 1), and applied
 * with {@link Augmenter#eval} (no augmentation).
 */
public final class ServedModel {
    /** One class and its probability. */
    public record Prediction(int index, String name, double probability) {}

    private final Predictor engine;
    private final ModelInfo info;
    private final WrnConfig wrn;
    private final List<String> classNames;
    private final Augmenter augmenter;
    // Engines are not safe for concurrent inference: one prediction at a time per model.
    private final ReentrantLock lock = new ReentrantLock();
    private final AtomicInteger refs = new AtomicInteger(1);

    private ServedModel(Predictor engine, ModelInfo info, List<String> classNames) {
        this.engine = engine;
        this.info = info;
        this.wrn = engine.model();
        this.classNames = classNames;
        this.augmenter = Augmenter.paper(wrn.channels());
    }

    /**
     * Builds a model from verified model-file bytes and runs one warm-up prediction, all on the caller's thread.
     *
     * @param classNames names of the classes in label order, or null for the defaults of the model's class count
     * @throws IllegalArgumentException when the bytes are not a valid model file or the names do not match the classes
     */
    public static ServedModel load(byte[] file, ModelInfo info, List<String> classNames) {
        ModelFile.Loaded loaded = ModelFile.read(file, info.location());
        Predictor engine = Engines.predictor(loaded.snapshot());
        try {
            WrnConfig w = engine.model();
            List<String> names = classNames != null ? List.copyOf(classNames) : defaultClassNames(w.classes(), w.channels());
            if (names.size() != w.classes()) {
                throw new IllegalArgumentException("Invalid class names: " + names.size() + " given, the model " + info.location() + " has "
                        + w.classes() + " classes");
            }
            ServedModel m = new ServedModel(engine, info, names);
            m.engine.predict(new Batch(new float[w.channels() * w.height() * w.width()], new int[1], w.channels(), w.height(), w.width()));
            return m;
        } catch (RuntimeException e) {
            engine.close();
            throw e;
        }
    }

    /** CIFAR-10 names for 10 colour classes, Fashion-MNIST for 10 grey ones, CIFAR-100 for 100, else {@code class-<i>}. */
    public static List<String> defaultClassNames(int classes, int channels) {
        if (classes == 10) return channels == 1 ? Datasets.FASHION_MNIST_CLASSES : Datasets.CIFAR10_CLASSES;
        if (classes == Datasets.CIFAR100_CLASSES.size()) return Datasets.CIFAR100_CLASSES;
        List<String> out = new ArrayList<>(classes);
        for (int i = 0; i < classes; i++) out.add("class-" + i);
        return out;
    }

    /** The metadata. */
    public ModelInfo info() {
        return info;
    }

    /** The model shape (input channels, height, width, classes). */
    public WrnConfig wrn() {
        return wrn;
    }

    /** Takes a reference; false when the model was already retired and closed (take the new current one). */
    boolean acquire() {
        while (true) {
            int r = refs.get();
            if (r == 0) return false;
            if (refs.compareAndSet(r, r + 1)) return true;
        }
    }

    /** Drops a reference; the last one closes the engine. */
    void release() {
        if (refs.decrementAndGet() == 0) engine.close();
    }

    /** Whether the engine was closed (every reference released). */
    boolean closed() {
        return refs.get() == 0;
    }

    /**
     * The {@code k} most probable classes of {@code image}, most probable first.
     *
     * @throws IllegalArgumentException when the image shape differs from the model input
     */
    public List<Prediction> predict(Sample image, int k) {
        if (image.channels() != wrn.channels() || image.height() != wrn.height() || image.width() != wrn.width()) {
            throw new IllegalArgumentException("Image is " + image.channels() + "x" + image.height() + "x" + image.width()
                    + " (CxHxW), the model takes " + wrn.channels() + "x" + wrn.height() + "x" + wrn.width());
        }
        float[] x = new float[augmenter.outputSize(wrn.channels(), wrn.height(), wrn.width())];
        augmenter.eval(image, x, 0);
        float[] probs;
        lock.lock();
        try {
            probs = engine.predict(new Batch(x, new int[1], wrn.channels(), wrn.height(), wrn.width()))[0];
        } finally {
            lock.unlock();
        }
        Integer[] order = new Integer[probs.length];
        for (int i = 0; i < order.length; i++) order[i] = i;
        final float[] p = probs;
        Arrays.sort(order, Comparator.comparingDouble((Integer i) -> -p[i]).thenComparingInt(i -> i));
        List<Prediction> out = new ArrayList<>(Math.min(k, order.length));
        for (int i = 0; i < Math.min(k, order.length); i++) out.add(new Prediction(order[i], classNames.get(order[i]), p[order[i]]));
        return out;
    }

    @Override
    public String toString() {
        return "ServedModel[" + info.modelId() + " v" + info.version() + ", step " + info.step() + ", " + Objects.toString(info.location()) + "]";
    }
}
