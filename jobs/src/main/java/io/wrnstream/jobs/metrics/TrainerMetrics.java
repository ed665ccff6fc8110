package io.wrnstream.jobs.metrics;

import static io.wrnstream.jobs.metrics.MetricNames.*;

import io.wrnstream.model.engine.StepResult;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.metrics.Meter;
import org.apache.flink.metrics.MeterView;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.runtime.metrics.DescriptiveStatisticsHistogram;

/**
 * The trainer's metrics (names in {@link MetricNames}). The task thread writes plain values after each step,
 * snapshot and checkpoint; the reporter thread reads them through gauges, so the hot path costs a few volatile
 * writes, a counter increment and one histogram sample per step.
 *
 * <pre>{@code
 * TrainerMetrics m = TrainerMetrics.register(getMetricGroup(), engine.step(), engine.imagesSeen(), epochs, lr, snapshotVersion);
 * StepResult r = engine.trainStep(batch);          // took nanos
 * m.onStep(r, nanos, optim.epochOf(r.imagesSeen()));
 * }</pre>
 */
public final class TrainerMetrics {
    /** Steps (and snapshots) the duration histograms keep. */
    public static final int WINDOW = 500;
    /** Seconds over which {@link MetricNames#IMAGES_PER_SECOND} averages. */
    public static final int RATE_SECONDS = 20;
    /** Weight of the history in the smoothed loss and accuracy (about the last 1 / (1 - 0.9) = 10 steps). */
    public static final double SMOOTHING = 0.9;

    private final Meter images;
    private final Histogram stepTime;
    private final Histogram snapshotTime;
    private final Counter snapshots;
    private final Counter nanSteps;
    private final Counter infSteps;
    private final Counter gradientSteps;
    private volatile long step;
    private volatile long imagesSeen;
    private volatile double epochs;
    private volatile double learningRate;
    private volatile double loss = Double.NaN;
    private volatile double accuracy = Double.NaN;
    private volatile double smoothedLoss = Double.NaN;
    private volatile double smoothedAccuracy = Double.NaN;
    private volatile long modelVersion;
    private volatile double checkpointSyncMillis;
    private volatile long checkpointStateBytes;
    // Exponential moving averages before bias correction, and the number of finite steps they have seen.
    private double emaLoss;
    private double emaAccuracy;
    private long emaSteps;

    private final MetricGroup group;

    private TrainerMetrics(MetricGroup operator) {
        MetricGroup g = operator.addGroup(GROUP);
        this.group = g;
        g.gauge(STEP, () -> step);
        g.gauge(IMAGES_SEEN, () -> imagesSeen);
        g.gauge(EPOCHS, () -> epochs);
        g.gauge(LEARNING_RATE, () -> learningRate);
        g.gauge(TRAIN_LOSS, () -> loss);
        g.gauge(TRAIN_ACCURACY, () -> accuracy);
        g.gauge(TRAIN_LOSS_SMOOTHED, () -> smoothedLoss);
        g.gauge(TRAIN_ACCURACY_SMOOTHED, () -> smoothedAccuracy);
        g.gauge(MODEL_VERSION, () -> modelVersion);
        g.gauge(CHECKPOINT_SYNC_MILLIS, () -> checkpointSyncMillis);
        g.gauge(CHECKPOINT_STATE_BYTES, () -> checkpointStateBytes);
        images = g.meter(IMAGES_PER_SECOND, new MeterView(RATE_SECONDS));
        stepTime = g.histogram(STEP_TIME_MS, new DescriptiveStatisticsHistogram(WINDOW));
        snapshotTime = g.histogram(SNAPSHOT_TIME_MS, new DescriptiveStatisticsHistogram(WINDOW));
        snapshots = g.counter(SNAPSHOTS);
        nanSteps = g.addGroup(KIND, "nan").counter(NON_FINITE_STEPS);
        infSteps = g.addGroup(KIND, "inf").counter(NON_FINITE_STEPS);
        gradientSteps = g.addGroup(KIND, "gradient").counter(NON_FINITE_STEPS);
    }

    /**
     * Registers the GPU memory gauges ({@link MetricNames#GPU_ONLY}) of the engine's device; nothing on the CPU,
     * where they would be meaningless.
     */
    public void registerDeviceMemory(java.util.Optional<io.wrnstream.model.engine.DeviceMemory> memory) {
        memory.ifPresent(m -> {
            group.gauge(DEVICE_MEMORY_TOTAL_BYTES, m::totalBytes);
            group.gauge(DEVICE_MEMORY_USED_BYTES, m::usedBytes);
        });
    }

    /**
     * Registers the trainer's metrics under {@code operator}'s {@value MetricNames#GROUP} group, starting from the
     * engine's (possibly restored) position.
     */
    public static TrainerMetrics register(MetricGroup operator, long step, long imagesSeen, double epochs, double learningRate,
                                          long modelVersion) {
        TrainerMetrics m = new TrainerMetrics(operator);
        m.step = step;
        m.imagesSeen = imagesSeen;
        m.epochs = epochs;
        m.learningRate = learningRate;
        m.modelVersion = modelVersion;
        return m;
    }

    /** Records one SGD step that took {@code nanos}; {@code epochs} is the fractional epoch after it. */
    public void onStep(StepResult r, long nanos, double epochs) {
        images.markEvent(r.imagesSeen() - imagesSeen);
        stepTime.update(Math.round(nanos / 1e6));
        step = r.step();
        imagesSeen = r.imagesSeen();
        this.epochs = epochs;
        learningRate = r.learningRate();
        loss = r.loss();
        accuracy = r.accuracy();
        if (r.nonFinite()) {
            (Double.isNaN(r.loss()) ? nanSteps : Double.isInfinite(r.loss()) ? infSteps : gradientSteps).inc();
            return; // a skipped step would poison the averages
        }
        emaSteps++;
        emaLoss = SMOOTHING * emaLoss + (1 - SMOOTHING) * r.loss();
        emaAccuracy = SMOOTHING * emaAccuracy + (1 - SMOOTHING) * r.accuracy();
        // Bias correction (as in Adam): early averages are not pulled towards the zero they start from.
        double correction = 1 - Math.pow(SMOOTHING, emaSteps);
        smoothedLoss = emaLoss / correction;
        smoothedAccuracy = emaAccuracy / correction;
    }

    /** Records a model snapshot of version {@code version} that took {@code nanos} to copy and emit. */
    public void onSnapshot(long version, long nanos) {
        modelVersion = version;
        snapshots.inc();
        snapshotTime.update(Math.round(nanos / 1e6));
    }

    /** Records the trainer's part of a checkpoint: its synchronous pause and its state size. */
    public void onCheckpoint(double syncMillis, long stateBytes) {
        checkpointSyncMillis = syncMillis;
        checkpointStateBytes = stateBytes;
    }
}
