package io.wrnstream.jobs.train;

import io.wrnstream.jobs.augment.AugmentedImage;
import io.wrnstream.jobs.config.JobConfig;
import io.wrnstream.jobs.metrics.TrainerMetrics;
import io.wrnstream.jobs.update.ModelCandidate;
import io.wrnstream.model.engine.Batch;
import io.wrnstream.model.engine.EngineOptions;
import io.wrnstream.model.engine.Engines;
import io.wrnstream.model.engine.StepResult;
import io.wrnstream.model.engine.TrainConfig;
import io.wrnstream.model.engine.TrainingEngine;
import io.wrnstream.model.wrn.WrnConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.zip.CRC32;
import org.apache.flink.api.common.externalresource.ExternalResourceInfo;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.base.array.BytePrimitiveArraySerializer;
import org.apache.flink.runtime.state.StateInitializationContext;
import org.apache.flink.runtime.state.StateSnapshotContext;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.BoundedOneInput;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.util.OutputTag;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Minibatch assembly and SGD in one stateful operator, run with parallelism 1: buffers augmented images into
 * minibatches of {@code batch-size}, calls {@link TrainingEngine#trainStep} for each, emits a {@link ModelSnapshot}
 * on {@link #SNAPSHOTS} every {@code snapshot.steps} steps or {@code snapshot.interval}, and reports
 * {@link TrainerEvent}s on its main output.
 *
 * <p><b>State.</b> On every checkpoint the complete training state (engine snapshot: parameters, updater state,
 * step, images seen, random state; plus the pending partial batch and the trainer's counters) is written as one
 * {@link TrainerStateSerializer versioned byte array} into operator list state with {@link BytePrimitiveArraySerializer}.
 * The synchronous part is the engine's in-memory copy plus the serialisation; the state backend writes the bytes
 * asynchronously. The pause is logged and exposed as the gauge {@code checkpointSyncMillis}.
 *
 * <p><b>Metrics.</b> Loss, accuracy, learning rate, images/s, step time, model version, snapshot and non-finite step
 * counts: see {@link TrainerMetrics}.
 *
 * <p><b>Bounds.</b> When {@code max-images} or {@code max-time} is reached, or the input ends, the trainer trains the
 * last partial batch, emits a final snapshot, writes the final model to {@code model.output} and ignores further input.
 */
public final class TrainerOperator extends AbstractStreamOperator<TrainerEvent>
        implements OneInputStreamOperator<AugmentedImage, TrainerEvent>, BoundedOneInput {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(TrainerOperator.class);

    /** Side output of the model snapshots for the evaluator. */
    public static final OutputTag<ModelSnapshot> SNAPSHOTS = new OutputTag<>("model-snapshots", TypeInformation.of(ModelSnapshot.class));

    /**
     * Side output of the model going into each checkpoint (emitted before the barrier) and of the final model, for
     * publication ({@code model.publish}); see {@link io.wrnstream.jobs.update.ModelPublisherOperator}.
     */
    public static final OutputTag<ModelCandidate> MODEL_CANDIDATES = new OutputTag<>("model-candidates", TypeInformation.of(ModelCandidate.class));

    private final JobConfig config;

    private transient TrainConfig train;
    private transient TrainingEngine engine;
    private transient ListState<byte[]> state;
    private transient TrainerState restored;
    private transient List<AugmentedImage> pending;
    private transient long snapshotVersion;
    private transient long lastSnapshotStep;
    private transient long lastSnapshotNanos;
    private transient long trainingNanos;
    private transient boolean finished;
    private transient boolean failBeforeNextRecord;
    private transient boolean inputEnded;
    private transient long preparedCheckpointId;
    private transient byte[] preparedEngine;
    private transient double preparedMillis;
    private transient long lastStepEventNanos;
    private transient long lastStepEventImages;
    private transient long skipped;
    private transient TrainerMetrics metrics;
    private transient StepResult lastStep;
    private transient long lastOfferedStep;
    private transient int checkpointsSinceOffer;

    /** A trainer for the model, optimiser, batch size, bounds and snapshot cadence of {@code config}. */
    public TrainerOperator(JobConfig config) {
        this.config = config;
    }

    @Override
    public void initializeState(StateInitializationContext context) throws Exception {
        super.initializeState(context);
        state = context.getOperatorStateStore().getListState(new ListStateDescriptor<>("trainer-state", BytePrimitiveArraySerializer.INSTANCE));
        restored = null;
        if (context.isRestored()) {
            Iterator<byte[]> it = state.get().iterator();
            if (it.hasNext()) restored = TrainerStateSerializer.deserialize(it.next());
            if (it.hasNext()) throw new IllegalStateException("Trainer state holds more than one element: the trainer must run with parallelism 1");
        }
    }

    @Override
    public void open() throws Exception {
        super.open();
        train = config.trainConfig();
        pending = new ArrayList<>(train.batchSize());
        preparedCheckpointId = -1;
        EngineOptions options = chooseDevice();
        if (options.cuda() && TrainConfig.AUTO.equals(config.get(JobConfig.PRECISION))) {
            train = train.withEngine(train.engine(), TrainConfig.defaultPrecision(train.engine(), true));
        }
        if (restored != null) {
            engine = Engines.restore(restored.engine(), options);
            pending.addAll(restored.pending());
            snapshotVersion = restored.snapshotVersion();
            lastSnapshotStep = restored.lastSnapshotStep();
            trainingNanos = restored.trainingNanos();
            finished = restored.finished();
            long crc = crc(engine.snapshot());
            LOG.info("Trainer restored from checkpoint {}: step {}, {} images seen, {} pending images, state crc {}", restored.checkpointId(),
                    engine.step(), engine.imagesSeen(), pending.size(), crc);
            output.collect(new StreamRecord<>(event(TrainerEvent.Kind.RESTORED, restored.checkpointId(), crc)));
            restored = null;
        } else {
            engine = Engines.create(train, options);
            LOG.info("Trainer started a new {} ({} parameters), batch {}, seed {}", train.wrn().name(), engine.parameterCount(),
                    train.batchSize(), train.seed());
        }
        lastOfferedStep = engine.step(); // a restored model was offered with its checkpoint; a fresh one is untrained
        lastSnapshotNanos = System.nanoTime();
        lastStepEventNanos = System.nanoTime();
        lastStepEventImages = engine.imagesSeen();
        metrics = TrainerMetrics.register(getMetricGroup(), engine.step(), engine.imagesSeen(), train.optim().epochOf(engine.imagesSeen()),
                train.optim().learningRateAt(engine.imagesSeen()), snapshotVersion);
        metrics.registerDeviceMemory(engine.deviceMemory());
    }

    /**
     * Picks the training device before the engine exists: the GPU Flink assigned to this TaskManager (external
     * resource {@code gpu}, first index) when there is one, else the CPU. The engine binds to it (libtorch built with
     * {@code -Ptorch-gpu} as {@code cuda:<index>}, DL4J's CUDA backend built with {@code -Pcuda}) or, without GPU
     * natives, says in one line that it trains on the CPU. Untried on a real GPU: the project's machines have none.
     */
    private EngineOptions chooseDevice() {
        Set<ExternalResourceInfo> gpus = getRuntimeContext().getExternalResourceInfos("gpu");
        if (gpus.isEmpty()) {
            LOG.info("No Flink external resource 'gpu' on this TaskManager: training on the CPU");
            return EngineOptions.DEFAULT.withDevice("cpu");
        }
        String index = gpus.iterator().next().getProperty("index").orElse("0");
        LOG.info("Flink external resource 'gpu' ({} device(s)): {} trains on cuda:{}", gpus.size(), train.engine(), index);
        return EngineOptions.DEFAULT.withDevice("cuda:" + index);
    }

    @Override
    public void processElement(StreamRecord<AugmentedImage> element) throws Exception {
        if (failBeforeNextRecord) {
            failBeforeNextRecord = false;
            throw new IllegalStateException("debug.fail-after-checkpoint=true: the trainer fails on purpose once after the first completed checkpoint");
        }
        if (finished) {
            skipped++;
            return;
        }
        pending.add(element.getValue());
        if (pending.size() >= nextBatchSize()) trainPending();
    }

    /** Images the next step takes: the batch size, or fewer to stop exactly at {@code max-images}. */
    private int nextBatchSize() {
        long max = config.get(JobConfig.MAX_IMAGES);
        return max > 0 ? (int) Math.max(1, Math.min(train.batchSize(), max - engine.imagesSeen())) : train.batchSize();
    }

    private void trainPending() throws Exception {
        int n = pending.size();
        WrnConfig w = train.wrn();
        int size = w.channels() * w.height() * w.width();
        float[] x = new float[n * size];
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            AugmentedImage a = pending.get(i);
            if (a.x().length != size) {
                throw new IllegalStateException("Augmented image " + a.id() + " has " + a.x().length + " floats, the model takes " + size);
            }
            System.arraycopy(a.x(), 0, x, i * size, size);
            labels[i] = a.label();
        }
        pending.clear();
        long t0 = System.nanoTime();
        lastStep = engine.trainStep(new Batch(x, labels, w.channels(), w.height(), w.width()));
        long nanos = System.nanoTime() - t0;
        trainingNanos += nanos;
        metrics.onStep(lastStep, nanos, train.optim().epochOf(lastStep.imagesSeen()));
        if (lastStep.step() % config.get(JobConfig.PROGRESS_STEPS) == 0) {
            TrainerEvent e = event(TrainerEvent.Kind.STEP, -1, 0);
            LOG.info("step {} images {} loss {} acc {} lr {} ({} images/s)", e.step(), e.imagesSeen(), String.format("%.4f", e.loss()),
                    String.format("%.3f", e.accuracy()), e.learningRate(), String.format("%.1f", e.imagesPerSecond()));
            output.collect(new StreamRecord<>(e));
        }
        if (boundReached()) {
            finishTraining();
        } else if (snapshotDue()) {
            emitSnapshot();
        }
    }

    private boolean boundReached() {
        long maxImages = config.get(JobConfig.MAX_IMAGES);
        long maxNanos = config.get(JobConfig.MAX_TIME).toNanos();
        return (maxImages > 0 && engine.imagesSeen() >= maxImages) || (maxNanos > 0 && trainingNanos >= maxNanos);
    }

    private boolean snapshotDue() {
        long everySteps = config.get(JobConfig.SNAPSHOT_STEPS);
        long everyNanos = config.get(JobConfig.SNAPSHOT_INTERVAL).toNanos();
        return (everySteps > 0 && engine.step() - lastSnapshotStep >= everySteps)
                || (everyNanos > 0 && System.nanoTime() - lastSnapshotNanos >= everyNanos);
    }

    private void emitSnapshot() {
        long t0 = System.nanoTime();
        snapshotVersion++;
        lastSnapshotStep = engine.step();
        lastSnapshotNanos = t0;
        output.collect(SNAPSHOTS, new StreamRecord<>(new ModelSnapshot(snapshotVersion, engine.step(), engine.imagesSeen(),
                train.optim().epochOf(engine.imagesSeen()), System.currentTimeMillis(), engine.snapshot())));
        metrics.onSnapshot(snapshotVersion, System.nanoTime() - t0);
    }

    private void finishTraining() throws Exception {
        if (!pending.isEmpty()) {
            trainPending(); // may call finishTraining() again through boundReached(); the flag below makes that harmless
            if (finished) return;
        }
        finished = true;
        if (engine.step() > lastSnapshotStep || snapshotVersion == 0) emitSnapshot();
        offerModel(-1, null);
        Path out = Path.of(config.get(JobConfig.MODEL_OUTPUT));
        if (out.getParent() != null) Files.createDirectories(out.getParent());
        FinalModel.write(engine, out);
        LOG.info("Training finished at step {} after {} images ({} s of training); final model written to {}", engine.step(),
                engine.imagesSeen(), String.format("%.1f", trainingNanos / 1e9), out.toAbsolutePath());
        output.collect(new StreamRecord<>(event(TrainerEvent.Kind.FINISHED, -1, crc(engine.snapshot()))));
    }

    @Override
    public void endInput() throws Exception {
        if (!finished) finishTraining();
        inputEnded = true;
                if (skipped > 0) LOG.info("Ignored {} images that arrived after training finished", skipped);
    }

    /**
     * Takes the in-memory copy of the engine before the barrier goes downstream and reports it as a CHECKPOINT event,
     * which therefore belongs to this checkpoint: once the checkpoint completes, its event is in every sink.
     */
    @Override
    public void prepareSnapshotPreBarrier(long checkpointId) throws Exception {
        super.prepareSnapshotPreBarrier(checkpointId);
        long t0 = System.nanoTime();
        preparedEngine = engine.snapshot(); // training cannot run concurrently: same task thread
        preparedCheckpointId = checkpointId;
        preparedMillis = (System.nanoTime() - t0) / 1e6;
        // After end of input the chained sinks have finished: the final checkpoint's state is the FINISHED event's.
        if (!inputEnded) output.collect(new StreamRecord<>(event(TrainerEvent.Kind.CHECKPOINT, checkpointId, crc(preparedEngine))));
        if (!inputEnded) offerModel(checkpointId, preparedEngine);
    }

    @Override
    public void snapshotState(StateSnapshotContext context) throws Exception {
        super.snapshotState(context);
        long t0 = System.nanoTime();
        boolean prepared = preparedCheckpointId == context.getCheckpointId();
        byte[] engineBytes = prepared ? preparedEngine : engine.snapshot();
        byte[] bytes = TrainerStateSerializer.serialize(new TrainerState(context.getCheckpointId(), engineBytes, engine.step(),
                engine.imagesSeen(), snapshotVersion, lastSnapshotStep, trainingNanos, finished, pending));
        state.update(List.of(bytes));
        double syncMillis = (System.nanoTime() - t0) / 1e6 + (prepared ? preparedMillis : 0);
        metrics.onCheckpoint(syncMillis, bytes.length);
        preparedEngine = null;
        preparedCheckpointId = -1;
        LOG.info("Checkpoint {}: trainer state {} bytes at step {} ({} pending images), synchronous pause {} ms", context.getCheckpointId(),
                bytes.length, engine.step(), pending.size(), String.format("%.2f", syncMillis));
    }

    @Override
    public void notifyCheckpointComplete(long checkpointId) throws Exception {
        super.notifyCheckpointComplete(checkpointId);
        if (config.get(JobConfig.FAIL_AFTER_CHECKPOINT) && getRuntimeContext().getTaskInfo().getAttemptNumber() == 0 && !finished) {
            failBeforeNextRecord = true;
        }
    }

    @Override
    public void close() throws Exception {
        if (engine != null) engine.close();
        engine = null;
        super.close();
    }

    /**
     * Offers the model for publication on {@link #MODEL_CANDIDATES} when {@code model.publish} is on, training advanced
     * since the last offer and {@code model.publish-every-checkpoints} checkpoints passed; {@code checkpointId} -1 (the
     * final model) is always due. {@code snapshot} is the checkpoint's engine copy, or null to take one.
     */
    private void offerModel(long checkpointId, byte[] snapshot) {
        if (!config.get(JobConfig.MODEL_PUBLISH)) return;
        if (checkpointId >= 0) checkpointsSinceOffer++;
        boolean due = checkpointId < 0 || checkpointsSinceOffer >= config.get(JobConfig.MODEL_PUBLISH_EVERY);
        if (!due || engine.step() <= lastOfferedStep) return;
        output.collect(MODEL_CANDIDATES, new StreamRecord<>(new ModelCandidate(checkpointId, engine.step(), engine.imagesSeen(),
                train.optim().epochOf(engine.imagesSeen()), System.currentTimeMillis(), snapshot != null ? snapshot : engine.snapshot())));
        lastOfferedStep = engine.step();
        checkpointsSinceOffer = 0;
    }

    private TrainerEvent event(TrainerEvent.Kind kind, long checkpointId, long crc) {
        long now = System.nanoTime();
        double seconds = (now - lastStepEventNanos) / 1e9;
        double rate = kind == TrainerEvent.Kind.STEP && seconds > 0 ? (engine.imagesSeen() - lastStepEventImages) / seconds : 0;
        if (kind == TrainerEvent.Kind.STEP) {
            lastStepEventNanos = now;
            lastStepEventImages = engine.imagesSeen();
        }
        boolean step = kind == TrainerEvent.Kind.STEP && lastStep != null;
        return new TrainerEvent(kind, checkpointId, engine.step(), engine.imagesSeen(), step ? lastStep.loss() : Double.NaN,
                step ? lastStep.accuracy() : Double.NaN, train.optim().learningRateAt(engine.imagesSeen()), crc, rate,
                System.currentTimeMillis());
    }

    /** CRC-32 of engine snapshot bytes: equal digests before a checkpoint and after its restore prove an exact restore. */
    public static long crc(byte[] bytes) {
        CRC32 c = new CRC32();
        c.update(bytes);
        return c.getValue();
    }
}
