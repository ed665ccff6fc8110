package io.wrnstream.model.engine;

import io.wrnstream.model.eval.EvalResult;
import io.wrnstream.model.optim.OptimConfig;
import io.wrnstream.model.wrn.WrnConfig;
import java.util.Iterator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What every engine shares, written once: the step and image counters, the learning rate of each step (a pure
 * function of the images seen, so it survives snapshot and restore without extra state), the dropout seed of each
 * step, the checks of batches and optimiser settings, evaluation, snapshots and closing. An engine supplies the
 * numeric parts: {@link #computeStep}, {@link #probabilities}, {@link #exportState} and {@link #release}.
 *
 * <p>Not thread-safe, like every engine: one thread trains it.
 */
public abstract class AbstractEngine implements TrainingEngine {
    private static final Logger LOG = LoggerFactory.getLogger(AbstractEngine.class);

    protected final TrainConfig config;
    private long step;
    private long imagesSeen;
    private boolean closed;

    /**
     * What one engine step computed: the batch's loss and accuracy before the update, and whether the update was
     * applied (false when the loss or a gradient was NaN/Inf: the update is skipped, BatchNorm's running statistics
     * restored, the batch still counts as consumed).
     */
    protected record Outcome(double loss, double accuracy, boolean finite) {
        public Outcome {}
    }

    /**
     * @param config what to train (checked: the optimiser must be Nesterov momentum or plain SGD)
     * @param step steps taken so far (0 for a fresh engine)
     * @param imagesSeen images consumed so far
     * @param engineName the engine this class implements, which {@code config.engine()} must name
     */
    protected AbstractEngine(TrainConfig config, long step, long imagesSeen, String engineName) {
        if (!engineName.equals(config.engine())) {
            throw new IllegalArgumentException("Config for engine '" + config.engine() + "' given to the " + engineName + " engine");
        }
        checkOptimiser(config.optim(), engineName);
        this.config = config;
        this.step = step;
        this.imagesSeen = imagesSeen;
    }

    /**
     * Both engines implement one rule, PyTorch's: {@code g += wd*p}, {@code b = mu*b + g}, {@code p -= lr*(g + mu*b)}
     * (Nesterov) or {@code p -= lr*g} (no momentum); classical momentum is refused.
     *
     * @throws IllegalArgumentException naming the setting
     */
    public static void checkOptimiser(OptimConfig optim, String engineName) {
        if (optim.momentum() > 0 && !optim.nesterov()) {
            throw new IllegalArgumentException("Invalid value false for optim.nesterov with optim.momentum=" + optim.momentum()
                    + ": the " + engineName + " engine supports Nesterov momentum only (nesterov=true) or no momentum (momentum=0)");
        }
    }

    /**
     * One SGD step on {@code batch} at learning rate {@code lr}, with dropout drawn from {@code dropoutSeed}.
     * Called with a checked batch on an open engine; the counters advance afterwards.
     */
    protected abstract Outcome computeStep(Batch batch, double lr, long dropoutSeed);

    /** Inference-mode class probabilities of a checked batch, {@code [n][classes]}. */
    protected abstract float[][] probabilities(Batch batch);

    /** The parameters and optimiser state in the canonical layout ({@link ParamLayout}), as of the current step. */
    protected abstract EngineState exportState();

    /** Frees the engine's native memory; called once. */
    protected abstract void release();

    @Override
    public final TrainConfig config() {
        return config;
    }

    @Override
    public final StepResult trainStep(Batch batch) {
        checkOpen();
        checkShape(batch);
        double lr = config.optim().learningRateAt(imagesSeen);
        Outcome o = computeStep(batch, lr, dropoutSeed(config.seed(), step));
        if (!o.finite()) {
            LOG.warn("Non-finite loss or gradient at step {} (loss {}): update skipped", step, o.loss());
        }
        step++;
        imagesSeen += batch.size();
        return new StepResult(step, imagesSeen, o.loss(), o.accuracy(), lr, !o.finite());
    }

    @Override
    public final EvalResult evaluate(Iterator<Batch> batches) {
        checkOpen();
        return Evaluations.evaluate(batches, config.wrn().classes(), b -> {
            checkShape(b);
            return probabilities(b);
        });
    }

    @Override
    public final float[][] predict(Batch batch) {
        checkOpen();
        checkShape(batch);
        return probabilities(batch);
    }

    @Override
    public final long step() {
        return step;
    }

    @Override
    public final long imagesSeen() {
        return imagesSeen;
    }

    /** A cheap in-memory copy of the complete training state; encode it later with {@link EngineState#toBytes()}. */
    public final EngineState snapshotState() {
        checkOpen();
        return exportState();
    }

    @Override
    public final byte[] snapshot() {
        return snapshotState().toBytes();
    }

    @Override
    public long parameterCount() {
        return config.wrn().trainableParameters();
    }

    @Override
    public final void close() {
        if (!closed) {
            closed = true;
            release();
        }
    }

    /** Dropout masks depend only on (seed, step): a replay or a restored engine draws the same ones. */
    public static long dropoutSeed(long seed, long step) {
        return seed * 0x9E3779B97F4A7C15L + step;
    }

    /** Fraction of rows of {@code logits} ({@code n x classes}, row-major) whose argmax is the label. */
    public static double accuracy(float[] logits, int[] labels, int classes) {
        int correct = 0;
        float[] row = new float[classes];
        for (int i = 0; i < labels.length; i++) {
            System.arraycopy(logits, i * classes, row, 0, classes);
            if (Evaluations.argmax(row) == labels[i]) correct++;
        }
        return (double) correct / labels.length;
    }

    protected final void checkOpen() {
        if (closed) throw new IllegalStateException("Engine is closed");
    }

    /**
     * Refuses a batch whose image shape or labels do not fit the model.
     *
     * @throws IllegalArgumentException naming the shapes or the label and what is allowed
     */
    protected final void checkShape(Batch b) {
        WrnConfig w = config.wrn();
        if (b.channels() != w.channels() || b.height() != w.height() || b.width() != w.width()) {
            throw new IllegalArgumentException("Batch of " + b.channels() + "x" + b.height() + "x" + b.width()
                    + " images does not fit " + w.name() + " built for " + w.channels() + "x" + w.height() + "x" + w.width());
        }
        for (int label : b.labels()) {
            if (label < 0 || label >= w.classes()) {
                throw new IllegalArgumentException("Invalid label " + label + ": must be in [0, " + w.classes() + ")");
            }
        }
    }

    /** The current counters packed with {@code params} and {@code updater}, held in {@code forms}, as a snapshot of this engine's config. */
    protected final EngineState state(float[] params, float[] updater, EngineState.Forms forms) {
        return new EngineState(config, step, imagesSeen, params, updater, forms);
    }
}
