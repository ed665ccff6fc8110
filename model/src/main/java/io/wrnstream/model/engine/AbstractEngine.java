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
        return advance(computeStep(batch, lr, dropoutSeed(config.seed(), step)), batch.size(), lr);
    }

    /** One SGD step on uint8 pixels, normalised by {@link #computeStep(PixelBatch, double, long)}. */
    @Override
    public final StepResult trainStep(PixelBatch batch) {
        checkOpen();
        checkShape(batch.channels(), batch.height(), batch.width(), batch.labels());
        double lr = config.optim().learningRateAt(imagesSeen);
        return advance(computeStep(batch, lr, dropoutSeed(config.seed(), step)), batch.size(), lr);
    }

    /**
     * One step on uint8 pixels. This default normalises on the CPU ({@link PixelBatch#toBatch()}, bit-identical to the
     * float path); an engine with a device may copy the bytes there and normalise on it.
     */
    protected Outcome computeStep(PixelBatch batch, double lr, long dropoutSeed) {
        return computeStep(batch.toBatch(), lr, dropoutSeed);
    }

    /** The counters after a step of {@code images} at rate {@code lr} with outcome {@code o}. */
    private StepResult advance(Outcome o, int images, double lr) {
        if (!o.finite()) {
            LOG.warn("Non-finite loss or gradient at step {} (loss {}): update skipped", step, o.loss());
        }
        step++;
        imagesSeen += images;
        return new StepResult(step, imagesSeen, o.loss(), o.accuracy(), lr, !o.finite());
    }

    /**
     * What a rank computed for one data-parallel step before the exchange: the gradient of the <i>summed</i> loss
     * over its shares (held by the engine), and the sums below. With no shares all are 0.
     *
     * @param images images in this rank's shares
     * @param lossSum sum over its images of the loss
     * @param correct images whose argmax was the label
     */
    protected record Local(int images, double lossSum, double correct) {
        public Local {}
    }

    /**
     * What the exchange with the group returned, identical on every rank: the totals over all ranks, each rank's image
     * count and signals, and whether the reduced loss and gradients are finite.
     */
    protected record Exchanged(int images, double lossSum, double correct, boolean finite, int[] imagesByRank, long[][] signals) {
        public Exchanged {}
    }

    /**
     * One lock-step of a data-parallel group: every rank of {@code group} calls it the same number of times, in the same
     * order, each with its own shares of the step's images (possibly none: a rank with nothing to contribute, or one
     * that must not contribute yet, still joins). The step is the one a single engine would take accumulating the
     * gradients of every rank's shares, image-weighted, before one update:
     * <ol>
     *   <li>{@link #accumulateGradients}: each share's mean-loss gradient times its image count, summed, on this rank;
     *   <li>{@link #exchange}: the gradients, loss and counts summed over the group, and {@code signals} gathered;
     *   <li>{@link #applyAveraged}: the sum divided by the step's image count, then the SGD update at the rate for the
     *       images seen so far; BatchNorm running statistics become the image-weighted mean of the statistics each
     *       share would have produced from the step's starting point (the rule that keeps replicas identical).
     * </ol>
     * When no rank contributed an image nothing changes (the call is a heartbeat that still carries the signals).
     * With a non-finite reduced loss or gradient the update is skipped on every rank alike (the images still count).
     *
     * @param shares this rank's minibatches for this step; their sizes may differ (a flush with fewer images)
     * @param signals this rank's small protocol fields (the same count on every rank), gathered to every rank
     * @param group the group, or {@link ProcessGroup#SOLO} to accumulate the shares alone
     * @throws UnsupportedOperationException when this engine cannot train data-parallel
     */
    public final GroupStep trainStep(java.util.List<Batch> shares, long[] signals, ProcessGroup group) {
        checkOpen();
        shares.forEach(this::checkShape);
        double lr = config.optim().learningRateAt(imagesSeen);
        bindGroup(group);
        Local local = accumulateGradients(shares, step, group.rank(), group.size());
        long t0 = System.nanoTime();
        Exchanged x = exchange(local, signals, group);
        lastExchangeNanos = System.nanoTime() - t0;
        if (x.images() == 0) return new GroupStep(null, x.imagesByRank(), x.signals());
        applyAveraged(x, lr);
        if (!x.finite()) LOG.warn("Non-finite loss or gradient at step {} (loss sum {}): update skipped on every rank", step, x.lossSum());
        step++;
        imagesSeen += x.images();
        return new GroupStep(new StepResult(step, imagesSeen, x.lossSum() / x.images(), x.correct() / x.images(), lr, !x.finite()),
                x.imagesByRank(), x.signals());
    }

    private long lastExchangeNanos;

    /** Wall time of the last data-parallel step's exchange (all-reduce plus waiting for the slowest rank), in ns. */
    public final long lastExchangeNanos() {
        return lastExchangeNanos;
    }

    /**
     * Called at the start of every data-parallel step with its group, before {@link #accumulateGradients}: an engine
     * whose collectives run outside the JVM (the worker engine's PyTorch process) moves there at the first step over a
     * new group. Nothing by default.
     */
    protected void bindGroup(ProcessGroup group) {}

    /**
     * Data-parallel phase 1: forward and backward over {@code shares} from the current parameters and BatchNorm
     * statistics, leaving the summed gradients and statistics in the engine. Share {@code i} of rank {@code rank}
     * draws its dropout from {@link #shareDropoutSeed shareDropoutSeed(seed, step, rank + i * ranks)}, so that one
     * engine accumulating the shares of every rank draws the same masks as the ranks do.
     */
    protected Local accumulateGradients(java.util.List<Batch> shares, long step, int rank, int ranks) {
        throw new UnsupportedOperationException("The " + config.engine() + " engine trains with one rank only (trainer.parallelism=1); "
                + "data-parallel training needs engine=libtorch");
    }

    /**
     * The {@code int64} table an exchange sums to gather image counts and signals: field-major, row 0 each rank's image
     * count, row {@code 1 + f} each rank's signal {@code f}; this rank fills its own column and leaves the rest 0, so
     * the group's sum holds every rank's values. {@link #gather} reads the summed table.
     */
    protected static long[] signalTable(int images, long[] signals, int ranks, int rank) {
        long[] table = new long[(1 + signals.length) * ranks];
        table[rank] = images;
        for (int f = 0; f < signals.length; f++) table[(1 + f) * ranks + rank] = signals[f];
        return table;
    }

    /** Each rank's image count and signals from a {@link #signalTable} summed over {@code ranks} ranks. */
    protected static Gather gather(long[] summed, int ranks, int signalCount) {
        int[] imagesByRank = new int[ranks];
        int images = 0;
        for (int r = 0; r < ranks; r++) {
            imagesByRank[r] = Math.toIntExact(summed[r]);
            images += imagesByRank[r];
        }
        long[][] signals = new long[ranks][signalCount];
        for (int r = 0; r < ranks; r++) for (int f = 0; f < signalCount; f++) signals[r][f] = summed[(1 + f) * ranks + r];
        return new Gather(images, imagesByRank, signals);
    }

    /** The gathered half of an exchange: the step's image count, each rank's, and each rank's signals. */
    protected record Gather(int images, int[] imagesByRank, long[][] signals) {
        /** The exchange's result with the group's sums. */
        public Exchanged exchanged(double lossSum, double correct, boolean finite) {
            return new Exchanged(images, lossSum, correct, finite, imagesByRank, signals);
        }

        /** The exchange's result when no rank had images: nothing summed, and finite. */
        public Exchanged nothing() {
            return exchanged(0, 0, true);
        }
    }

    /** Data-parallel phase 2: sums gradients, statistics and counts over {@code group} and gathers the signals. */
    protected Exchanged exchange(Local local, long[] signals, ProcessGroup group) {
        throw new UnsupportedOperationException("The " + config.engine() + " engine cannot exchange gradients");
    }

    /** Data-parallel phase 3: averages the exchanged sums over {@code x.images()} and applies the update (when finite). */
    protected void applyAveraged(Exchanged x, double lr) {
        throw new UnsupportedOperationException("The " + config.engine() + " engine cannot apply exchanged gradients");
    }

    /** The dropout seed of share {@code share} of a data-parallel step; share 0 draws the single-engine step's masks. */
    public static long shareDropoutSeed(long seed, long step, int share) {
        return dropoutSeed(seed, step) + 0x632BE59BD9B4E019L * share;
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
        checkOpen();
        return encodeState();
    }

    /**
     * The bytes of {@link EngineState#toBytes()} for the current state; an engine that holds its state natively can
     * override this to write it straight into the snapshot ({@link EngineState#encode}) instead of through a copy.
     */
    protected byte[] encodeState() {
        return exportState().toBytes();
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
        checkShape(b.channels(), b.height(), b.width(), b.labels());
    }

    private void checkShape(int channels, int height, int width, int[] labels) {
        WrnConfig w = config.wrn();
        if (channels != w.channels() || height != w.height() || width != w.width()) {
            throw new IllegalArgumentException("Batch of " + channels + "x" + height + "x" + width
                    + " images does not fit " + w.name() + " built for " + w.channels() + "x" + w.height() + "x" + w.width());
        }
        for (int label : labels) {
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
