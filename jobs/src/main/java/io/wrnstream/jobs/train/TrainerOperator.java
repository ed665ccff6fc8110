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
import io.wrnstream.model.engine.AbstractEngine;
import io.wrnstream.model.engine.Batch;
import io.wrnstream.model.engine.GroupSpec;
import io.wrnstream.model.engine.GroupStep;
import io.wrnstream.model.engine.ProcessGroup;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.locks.LockSupport;
import org.apache.flink.api.common.operators.MailboxExecutor;
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
import org.apache.flink.streaming.runtime.tasks.mailbox.TaskMailbox;
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
    /** Data-parallel only: the checkpoint restored from (0: fresh), and every rank's restored entry. */
    private transient long restoredCheckpoint;
    private transient List<RankState> restoredRanks;
    private transient ProcessGroup group;
    private transient org.apache.flink.core.fs.Path rendezvous;
    private transient Trainer trainer;
    private transient boolean checkpointedThisAttempt;
    private transient TrainerMetrics metrics;
    private transient boolean failBeforeNextRecord;
    /** {@code debug.fail-at-steps}: the step after which this attempt is to fail once a checkpoint completed (0: none due). */
    private transient long injectionDueAtStep;
    /** Checkpoints completed during this attempt, as notified. */
    private transient long completedCheckpoints;
    /** {@code debug.checkpoint-every-steps}: the count of completed checkpoints training waits for (0: none due). */
    private transient long holdUntilCheckpoints;
    /** Whether the task thread is yielding in {@link #awaitCheckpoint}, where the flush timer must not step. */
    private transient boolean holding;
    private transient boolean warnedNoHold;

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

    /** Whether this trainer is one of {@code trainer.parallelism} > 1 data-parallel ranks. */
    private boolean dataParallel() {
        return config.get(JobConfig.TRAINER_PARALLELISM) > 1;
    }

    @Override
    public void initializeState(StateInitializationContext context) throws Exception {
        super.initializeState(context);
        restored = null;
        if (dataParallel()) {
            // Union state: on restore every rank sees every rank's entry, so it can load the model the last rank stored.
            state = context.getOperatorStateStore().getUnionListState(new ListStateDescriptor<>("trainer-ranks", BytePrimitiveArraySerializer.INSTANCE));
            restoredCheckpoint = context.getRestoredCheckpointId().orElse(0L);
            restoredRanks = new ArrayList<>();
            if (context.isRestored()) for (byte[] b : state.get()) restoredRanks.add(RankState.deserialize(b, config.inputShape()[0]));
            return;
        }
        state = context.getOperatorStateStore().getListState(new ListStateDescriptor<>("trainer-state", BytePrimitiveArraySerializer.INSTANCE));
        if (context.isRestored()) {
            Iterator<byte[]> it = state.get().iterator();
            if (it.hasNext()) restored = TrainerStateSerializer.deserialize(it.next(), config.inputShape()[0]);
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
        if (dataParallel()) {
            openRank(settings, options);
            return;
        }
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
        String overlap = config.get(JobConfig.TRAINER_OVERLAP);
        if ("true".equals(overlap) || ("auto".equals(overlap) && options.cuda())) {
            trainer.overlapSteps();
            LOG.info("trainer.overlap={}: the engine steps on its own thread while the next batch is assembled", overlap);
        }
    }

    /**
     * Joins the data-parallel group as rank = subtask index: rendezvous under the checkpoint directory, a fresh group
     * per attempt and restore point, then the model of the restored checkpoint (stored by the rank that took its
     * barrier last) and this rank's own pending images and counters.
     */
    private void openRank(Trainer.Settings settings, EngineOptions options) {
        int rank = getRuntimeContext().getTaskInfo().getIndexOfThisSubtask();
        int ranks = getRuntimeContext().getTaskInfo().getNumberOfParallelSubtasks();
        if (ranks != config.get(JobConfig.TRAINER_PARALLELISM)) {
            throw new IllegalStateException("The trainer runs with " + ranks + " subtasks but trainer.parallelism=" + config.get(JobConfig.TRAINER_PARALLELISM));
        }
        String generation = Rendezvous.generation(getRuntimeContext().getJobInfo().getJobId().toHexString(),
                getRuntimeContext().getTaskInfo().getAttemptNumber(), restoredCheckpoint);
        Duration timeout = config.get(JobConfig.TRAINER_GROUP_TIMEOUT);
        rendezvous = Rendezvous.file(config.get(JobConfig.CHECKPOINT_DIR), generation);
        String host = groupHost();
        int port = rank == 0 ? 0 : Rendezvous.await(rendezvous, timeout).getPort();
        if (rank != 0) host = Rendezvous.await(rendezvous, timeout).getHostString();
        group = Engines.provider(train.engine()).openGroup(new GroupSpec(rank, ranks, host, port, "wrn/" + generation, timeout), options,
                address -> Rendezvous.publish(rendezvous, address));
        TrainingEngine engine;
        TrainerState own = null;
        long digest = 0;
        if (!restoredRanks.isEmpty()) {
            RankState model = restoredRanks.stream().filter(r -> r.state().engine().length > 0).findFirst().orElseThrow(() ->
                    new IllegalStateException("Restored trainer state of checkpoint " + restoredCheckpoint + " holds no model: no rank took its barrier last"));
            RankState mine = restoredRanks.stream().filter(r -> r.rank() == rank).findFirst().orElseThrow(() ->
                    new IllegalStateException("Restored trainer state has no entry of rank " + rank + ": trainer.parallelism changed?"));
            if (mine.ranks() != ranks) {
                throw new IllegalStateException("Checkpoint " + restoredCheckpoint + " was taken with trainer.parallelism=" + mine.ranks()
                        + ", this job runs " + ranks + ": keep trainer.parallelism when restoring");
            }
            engine = Engines.restore(model.state().engine(), options);
            digest = model.trainedDigest();
            TrainerState s = mine.state();
            own = new TrainerState(s.checkpointId(), model.state().engine(), engine.step(), engine.imagesSeen(), s.snapshotVersion(),
                    s.lastSnapshotStep(), s.trainingNanos(), s.finished(), s.pending());
        } else {
            engine = Engines.create(train, options);
        }
        registerMetrics(engine, own == null ? 0 : own.snapshotVersion());
        Trainer.Group peers = new Trainer.Group() {
            @Override
            public int rank() {
                return group.rank();
            }

            @Override
            public int size() {
                return group.size();
            }

            @Override
            public GroupStep step(List<Batch> shares, long[] signals) {
                return ((AbstractEngine) engine).trainStep(shares, signals, group);
            }

            @Override
            public long arrive(String key) {
                return group.arrive(key);
            }
        };
        Outputs outputs = new Outputs(rank);
        trainer = (own == null ? Trainer.start(train, settings, engine, outputs, System::nanoTime)
                : Trainer.resume(train, settings, engine, own, outputs, System::nanoTime))
                .joining(peers, config.get(JobConfig.TRAINER_FLUSH_INTERVAL), restoredCheckpoint, digest);
        scheduleFlush();
    }

    private String groupHost() {
        String h = config.get(JobConfig.TRAINER_GROUP_HOST);
        if (!h.equals("auto")) return h;
        try {
            return java.net.InetAddress.getLocalHost().getHostAddress();
        } catch (java.net.UnknownHostException e) {
            return "127.0.0.1";
        }
    }

    /** The flush timer: a rank that waited {@code trainer.flush-interval} steps with what it has. */
    private void scheduleFlush() {
        long every = config.get(JobConfig.TRAINER_FLUSH_INTERVAL).toMillis();
        getProcessingTimeService().registerTimer(getProcessingTimeService().getCurrentProcessingTime() + every, t -> {
            if (holding) {
                scheduleFlush(); // no step of a group while this rank holds for a checkpoint: its peers hold too
            } else if (trainer != null && !trainer.finished()) {
                failIfInjectedAfterCheckpoint();
                trainer.onTimer();
                if (holdUntilCheckpoints > 0) holdForCheckpoint();
                scheduleFlush();
            }
        });
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
        failIfInjectedAfterCheckpoint();
        trainer.add(element.getValue());
        if (holdUntilCheckpoints > 0) holdForCheckpoint();
        if (injectionDueAtStep > 0) failOnceCheckpointed();
    }

    /** {@code debug.fail-after-checkpoint}: throws once, at the next record or flush timer after the first completed checkpoint. */
    private void failIfInjectedAfterCheckpoint() {
        if (failBeforeNextRecord) {
            failBeforeNextRecord = false;
            throw new IllegalStateException("debug.fail-after-checkpoint=true: the trainer (rank "
                    + getRuntimeContext().getTaskInfo().getIndexOfThisSubtask() + ") fails on purpose once after the first completed checkpoint");
        }
    }

    /**
     * {@code debug.fail-at-steps}: the k-th attempt fails after the first step at or past the k-th listed step, once a
     * checkpoint of this attempt has completed, so that every injected failure restores from a checkpoint of the
     * attempt it ends. Called after each step, inside the trainer: it fails at once when such a checkpoint completed,
     * else it leaves the wait to {@link #failOnceCheckpointed()}, after the trainer finished taking the image.
     */
    private void failIfInjectedAt(long step) {
        long[] at = config.failAtSteps();
        int attempt = getRuntimeContext().getTaskInfo().getAttemptNumber();
        if (injectionDueAtStep > 0 || attempt >= at.length || step < at[attempt]) return;
        if (checkpointedThisAttempt) throw injectedFailure(step, attempt);
        injectionDueAtStep = step;
    }

    /**
     * Waits, training nothing, until a checkpoint of this attempt completes, then fails. Without the wait the injection
     * depended on timing: a trainer faster than {@code checkpoint.interval} ran to its end before any checkpoint of a
     * restored attempt completed, and the failure of that attempt never happened (1 restore instead of 3 under load).
     * The operator yields to the task's mailbox meanwhile ({@link #awaitCheckpoint}); the image being processed is
     * already in the trainer's state, so a checkpoint taken here is consistent. Data-parallel ranks do not wait (their peers would wait in the lock-step and
     * never take the barrier): they fail at the first step past the listed one that follows a completed checkpoint.
     */
    private void failOnceCheckpointed() throws InterruptedException {
        long step = injectionDueAtStep;
        int attempt = getRuntimeContext().getTaskInfo().getAttemptNumber();
        if (group != null || !mayHold()) {
            if (checkpointedThisAttempt) throw injectedFailure(step, attempt);
            return;
        }
        LOG.info("debug.fail-at-steps: step {} reached on attempt {}; training holds until a checkpoint completes, then fails", step, attempt);
        Duration limit = config.get(JobConfig.CHECKPOINT_INTERVAL).multipliedBy(10).plus(INJECTION_WAIT);
        if (!awaitCheckpoint(() -> checkpointedThisAttempt, limit)) {
            throw new IllegalStateException("debug.fail-at-steps: no checkpoint completed within " + limit.toSeconds() + " s of step " + step
                    + " on attempt " + attempt + "; the injected failures need checkpoints (execution.checkpointing.unaligned.enabled)");
        }
        throw injectedFailure(step, attempt);
    }

    /**
     * {@code debug.checkpoint-every-steps}: holds, training nothing, until a checkpoint completed after the N-th step,
     * or for at most {@link #holdLimit()}: after a restore from an unaligned checkpoint the upstream tasks stay
     * INITIALIZING until the trainer has taken their recovered in-flight records, and no checkpoint can be triggered
     * before. Every rank of a data-parallel group reaches the same step and holds outside the lock-step (after taking
     * the image or the flush timer's step), so each takes the barrier.
     */
    private void holdForCheckpoint() throws InterruptedException {
        long until = holdUntilCheckpoints;
        holdUntilCheckpoints = 0;
        long t0 = System.nanoTime();
        if (!awaitCheckpoint(() -> completedCheckpoints >= until, holdLimit())) {
            LOG.info("debug.checkpoint-every-steps: no checkpoint completed within {} ms of step {}; training goes on",
                    (System.nanoTime() - t0) / 1_000_000, trainer.engine().step());
        }
    }

    /** The longest {@code debug.checkpoint-every-steps} hold: four checkpoint intervals, at least 2 s. */
    private Duration holdLimit() {
        Duration four = config.get(JobConfig.CHECKPOINT_INTERVAL).multipliedBy(4);
        return four.compareTo(Duration.ofSeconds(2)) < 0 ? Duration.ofSeconds(2) : four;
    }

    /**
     * Yields to the task's mailbox, at the lowest priority so that checkpoint barriers (unaligned: priority events) and
     * completion notices run, until {@code done} or {@code limit} passed; whether {@code done}.
     */
    private boolean awaitCheckpoint(java.util.function.BooleanSupplier done, Duration limit) throws InterruptedException {
        if (!mayHold()) return done.getAsBoolean();
        MailboxExecutor mailbox = getContainingTask().getMailboxExecutorFactory().createExecutor(TaskMailbox.MIN_PRIORITY);
        long t0 = System.nanoTime();
        holding = true;
        try {
            while (!done.getAsBoolean()) {
                if (getContainingTask().isCanceled() || Thread.currentThread().isInterrupted()) throw new InterruptedException("cancelled");
                if (System.nanoTime() - t0 > limit.toNanos()) return false;
                if (!mailbox.tryYield()) LockSupport.parkNanos(POLL_NANOS);
            }
            return true;
        } finally {
            holding = false;
        }
    }

    /**
     * Whether this operator may yield to the mailbox for a checkpoint. Not when it is chained with the source
     * ({@code source.forward} with {@code trainer.parallelism} = {@code parallelism}): the checkpoint would then run
     * inside the source's emit and store its offset before the record the trainer already took, which a restore trains
     * again. Chained behind a decoder (its input a network channel, the record already consumed) a hold is consistent.
     * The input channel must also carry unaligned barriers: Flink aligns barriers on pointwise (forward, rescale) edges
     * ({@code StreamPartitioner#isSupportsUnalignedCheckpoint}), so a trainer that held behind a forward network edge
     * would never see the barrier queued behind the records it does not take; the job therefore never gives the
     * trainer a forward network input (it is chained to its forward upstream, or fed by rebalance).
     */
    private boolean mayHold() {
        if (!(getContainingTask() instanceof org.apache.flink.streaming.runtime.tasks.SourceOperatorStreamTask)) return true;
        if (!warnedNoHold) LOG.warn("The trainer is chained with the source: no hold for a checkpoint (debug.* failure injection only)");
        warnedNoHold = true;
        return false;
    }

    private static IllegalStateException injectedFailure(long step, int attempt) {
        return new IllegalStateException("debug.fail-at-steps: the trainer fails on purpose after step " + step + " (attempt " + attempt + ")");
    }

    /** How long, beyond ten checkpoint intervals, an injected failure waits for a checkpoint. */
    private static final Duration INJECTION_WAIT = Duration.ofSeconds(60);
    private static final long POLL_NANOS = Duration.ofMillis(5).toNanos();

    @Override
    public void endInput() throws Exception {
        trainer.endInput();
        if (injectionDueAtStep > 0 && !checkpointedThisAttempt) {
            LOG.warn("debug.fail-at-steps: step {} was reached by the last batch, after the input ended; no failure injected", injectionDueAtStep);
        }
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
        if (group != null) bytes = RankState.serialize(new RankState(group.rank(), group.size(), c.trainedDigest(), c.state()));
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
        completedCheckpoints++;
        int failRank = config.get(JobConfig.FAIL_RANK);
        if (config.get(JobConfig.FAIL_AFTER_CHECKPOINT) && getRuntimeContext().getTaskInfo().getAttemptNumber() == 0 && !trainer.finished()
                && (failRank < 0 || failRank == getRuntimeContext().getTaskInfo().getIndexOfThisSubtask())) {
            failBeforeNextRecord = true;
        }
    }

    @Override
    public void close() throws Exception {
        if (trainer != null) trainer.close();
        trainer = null;
        if (group != null) {
            group.close();
            if (group.rank() == 0) Rendezvous.remove(rendezvous);
            group = null;
        }
        super.close();
    }

    /** CRC-32 of engine snapshot bytes (see {@link Trainer#crc}). */
    public static long crc(byte[] bytes) {
        return Trainer.crc(bytes);
    }

    /** The trainer's products onto this operator's outputs and metrics. */
    private final class Outputs implements Trainer.Outputs {
        private final int rank;

        Outputs() {
            this(0);
        }

        /** Events of rank {@code rank}: rank 0 reports for the group; another rank only the checkpoints it stores. */
        Outputs(int rank) {
            this.rank = rank;
        }

        @Override
        public void event(TrainerEvent event) {
            if (rank == 0 || event.kind() == TrainerEvent.Kind.CHECKPOINT) output.collect(new StreamRecord<>(event));
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
            long every = config.get(JobConfig.CHECKPOINT_EVERY_STEPS);
            if (every > 0 && result.step() % every == 0 && !trainer.finished()) holdUntilCheckpoints = completedCheckpoints + 1;
            failIfInjectedAt(result.step());
        }
    }
}
