package io.wrnstream.jobs.train;

import io.wrnstream.jobs.augment.AugmentedImage;
import io.wrnstream.jobs.config.JobConfig;
import io.wrnstream.jobs.metrics.TrainerMetrics;
import io.wrnstream.jobs.update.ModelCandidate;
import io.wrnstream.model.engine.EngineOptions;
import io.wrnstream.model.engine.Engines;
import io.wrnstream.model.engine.StepResult;
import io.wrnstream.model.engine.TrainConfig;
import io.wrnstream.model.engine.TrainingEngine;
import io.wrnstream.jobs.config.Preflight;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
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
 * Minibatch assembly and SGD in one stateful operator, run with parallelism 1: a {@link Trainer} buffers augmented
 * images into minibatches of {@code batch-size}, calls {@link TrainingEngine#trainStep} for each, emits a {@link ModelSnapshot}
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
 * last partial batch, emits a final snapshot and the final model on {@link #FINAL_MODEL}, and ignores further input.
 *
 * <p>The batching, bounds, cadences and events are the plain {@link Trainer}'s; this operator holds its state, outputs,
 * checkpoint hooks, device choice and the fault injection of {@code debug.fail-after-checkpoint}.
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

    /**
     * Side output of the final model, once, when a bound or the end of input stops training; the job writes it to
     * {@code model.output} with {@link io.wrnstream.jobs.update.FinalModelSink}.
     */
    public static final OutputTag<ModelCandidate> FINAL_MODEL = new OutputTag<>("final-model", TypeInformation.of(ModelCandidate.class));

    private final JobConfig config;

    private transient TrainConfig train;
    private transient ListState<byte[]> state;
    private transient TrainerState restored;
    private transient Trainer trainer;
    private transient boolean checkpointedThisAttempt;
    private transient TrainerMetrics metrics;
    private transient boolean failBeforeNextRecord;

    /** A trainer for the model, optimiser, batch size, bounds and snapshot cadence of {@code config}. */
    public TrainerOperator(JobConfig config) {
        this.config = config;
    }

    /** The trainer's cadences and bounds in {@code config}. */
    static Trainer.Settings settings(JobConfig config) {
        return new Trainer.Settings(config.get(JobConfig.BATCH_SIZE), config.get(JobConfig.MAX_IMAGES), config.get(JobConfig.MAX_TIME),
                config.get(JobConfig.SNAPSHOT_STEPS), config.get(JobConfig.SNAPSHOT_INTERVAL), config.get(JobConfig.PROGRESS_STEPS),
                config.get(JobConfig.MODEL_PUBLISH), config.get(JobConfig.MODEL_PUBLISH_EVERY));
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
        EngineOptions options = chooseDevice();
        if (options.cuda() && TrainConfig.AUTO.equals(config.get(JobConfig.PRECISION))) {
            train = train.withEngine(train.engine(), TrainConfig.defaultPrecision(train.engine(), true));
        }
        String memory = Preflight.memoryProblem(config, Preflight.machineMemory(config));
        if (memory != null) throw new IllegalStateException(memory); // before ND4J/libtorch allocate and crash the JVM
        Trainer.Settings settings = settings(config);
        if (restored != null) {
            TrainingEngine engine = Engines.restore(restored.engine(), options);
            registerMetrics(engine, restored.snapshotVersion());
            trainer = Trainer.resume(train, settings, engine, restored, new Outputs(), System::nanoTime);
            restored = null;
        } else {
            TrainingEngine engine = Engines.create(train, options);
            registerMetrics(engine, 0);
            trainer = Trainer.start(train, settings, engine, new Outputs(), System::nanoTime);
        }
    }

    private void registerMetrics(TrainingEngine engine, long snapshotVersion) {
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
        trainer.add(element.getValue());
    }

    /**
     * {@code debug.fail-at-steps}: the k-th attempt fails after the first step at or past the k-th listed step that
     * follows a checkpoint completed in this attempt, so that every injected failure restores from a checkpoint.
     */
    private void failIfInjectedAt(long step) {
        long[] at = config.get(JobConfig.FAIL_AT_STEPS);
        int attempt = getRuntimeContext().getTaskInfo().getAttemptNumber();
        if (attempt < at.length && step >= at[attempt] && checkpointedThisAttempt) {
            throw new IllegalStateException("debug.fail-at-steps: the trainer fails on purpose after step " + step + " (attempt " + attempt + ")");
        }
    }

    @Override
    public void endInput() throws Exception {
        trainer.endInput();
    }

    /**
     * Takes the in-memory copy of the engine before the barrier goes downstream and reports it as a CHECKPOINT event,
     * which therefore belongs to this checkpoint: once the checkpoint completes, its event is in every sink.
     */
    @Override
    public void prepareSnapshotPreBarrier(long checkpointId) throws Exception {
        super.prepareSnapshotPreBarrier(checkpointId);
        trainer.beforeBarrier(checkpointId); // training cannot run concurrently: same task thread
    }

    @Override
    public void snapshotState(StateSnapshotContext context) throws Exception {
        super.snapshotState(context);
        long t0 = System.nanoTime();
        Trainer.Checkpoint c = trainer.checkpoint(context.getCheckpointId());
        byte[] bytes = TrainerStateSerializer.serialize(c.state());
        state.update(List.of(bytes));
        double syncMillis = (System.nanoTime() - t0) / 1e6 + c.engineCopyMillis();
        metrics.onCheckpoint(syncMillis, bytes.length);
        LOG.info("Checkpoint {}: trainer state {} bytes at step {} ({} pending images), synchronous pause {} ms", context.getCheckpointId(),
                bytes.length, c.state().step(), c.state().pending().size(), String.format("%.2f", syncMillis));
    }

    @Override
    public void notifyCheckpointComplete(long checkpointId) throws Exception {
        super.notifyCheckpointComplete(checkpointId);
        checkpointedThisAttempt = true;
        if (config.get(JobConfig.FAIL_AFTER_CHECKPOINT) && getRuntimeContext().getTaskInfo().getAttemptNumber() == 0 && !trainer.finished()) {
            failBeforeNextRecord = true;
        }
    }

    @Override
    public void close() throws Exception {
        if (trainer != null) trainer.close();
        trainer = null;
        super.close();
    }

    /** CRC-32 of engine snapshot bytes (see {@link Trainer#crc}). */
    public static long crc(byte[] bytes) {
        return Trainer.crc(bytes);
    }

    /** The trainer's products onto this operator's outputs and metrics. */
    private final class Outputs implements Trainer.Outputs {
        @Override
        public void event(TrainerEvent event) {
            output.collect(new StreamRecord<>(event));
        }

        @Override
        public void snapshot(ModelSnapshot snapshot, long nanos) {
            output.collect(SNAPSHOTS, new StreamRecord<>(snapshot));
            metrics.onSnapshot(snapshot.version(), nanos);
        }

        @Override
        public void candidate(ModelCandidate candidate) {
            output.collect(MODEL_CANDIDATES, new StreamRecord<>(candidate));
        }

        @Override
        public void finalModel(ModelCandidate model) {
            output.collect(FINAL_MODEL, new StreamRecord<>(model));
        }

        @Override
        public void stepped(StepResult result, long nanos, double epochs) {
            metrics.onStep(result, nanos, epochs);
        }

        @Override
        public void afterStep(StepResult result) {
            failIfInjectedAt(result.step());
        }
    }
}
