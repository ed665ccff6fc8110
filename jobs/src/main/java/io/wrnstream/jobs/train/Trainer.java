package io.wrnstream.jobs.train;

import io.wrnstream.jobs.augment.AugmentedImage;
import io.wrnstream.jobs.update.ModelCandidate;
import io.wrnstream.model.augment.Normalization;
import io.wrnstream.model.engine.Batch;
import io.wrnstream.model.engine.PixelBatch;
import io.wrnstream.model.engine.GroupStep;
import io.wrnstream.model.engine.StepResult;
import io.wrnstream.model.engine.TrainConfig;
import io.wrnstream.model.engine.TrainingEngine;
import io.wrnstream.model.wrn.WrnConfig;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.LongSupplier;
import java.util.zip.CRC32;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The training loop without Flink: gathers images into minibatches of {@code batch-size}, steps the engine on each,
 * stops at the bounds ({@code max-images}, {@code max-time}, end of input), and decides when a model snapshot, a
 * publication candidate or a trainer event is due. What it produces goes to {@link Outputs}; its complete state
 * for a checkpoint is a {@link TrainerState}. The Flink {@link TrainerOperator} only wires state, outputs and
 * checkpoint hooks around it.
 *
 * <pre>{@code
 * try (Trainer t = Trainer.start(train, settings, Engines.create(train), outputs, System::nanoTime)) {
 *     images.forEach(t::add);       // one step per full batch
 *     t.endInput();                 // trains the partial batch, emits the final snapshot and model
 * }
 * }</pre>
 *
 * <p><b>Overlap</b> ({@link #overlapSteps()}): the engine steps on a thread of its own while the caller keeps adding
 * images, so the next minibatch is assembled (and, on a GPU, the caller's side of the pipeline keeps decoding) while
 * the step runs. A step's result is taken, and everything that follows from it (events, bounds, snapshots) done, when
 * the next batch is full, before a checkpoint's barrier, at the end of input or at close: the batches, the images each
 * trains and every state a checkpoint holds are the same as without overlap; events of a step come one batch later.
 * Every use of the engine after its creation happens on the step thread or after the step in flight has finished.
 *
 * <p>Not thread-safe: one thread drives it.
 */
public final class Trainer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Trainer.class);

    /**
     * The trainer's cadences and bounds.
     *
     * @param batchSize images per step
     * @param maxImages stop after this many images (0: no bound)
     * @param maxTime stop after this much training time (zero: no bound)
     * @param snapshotSteps emit a model snapshot every this many steps (0: never by steps)
     * @param snapshotInterval emit a model snapshot after this much wall time (zero: never by time)
     * @param progressSteps emit a STEP event every this many steps
     * @param publish offer models for publication
     * @param publishEveryCheckpoints offer the model of every this many checkpoints
     */
    public record Settings(int batchSize, long maxImages, Duration maxTime, long snapshotSteps, Duration snapshotInterval,
                           long progressSteps, boolean publish, int publishEveryCheckpoints) {
        public Settings {
            if (batchSize < 1) throw new IllegalArgumentException("Invalid value " + batchSize + " for batch-size: must be >= 1");
            if (maxImages < 0) throw new IllegalArgumentException("Invalid value " + maxImages + " for max-images: must be >= 0 (0: no bound)");
            if (snapshotSteps < 0) throw new IllegalArgumentException("Invalid value " + snapshotSteps + " for snapshot.steps: must be >= 0");
            if (progressSteps < 1) throw new IllegalArgumentException("Invalid value " + progressSteps + " for progress.steps: must be >= 1");
            if (publishEveryCheckpoints < 1) {
                throw new IllegalArgumentException("Invalid value " + publishEveryCheckpoints + " for model.publish-every-checkpoints: must be >= 1");
            }
            Objects.requireNonNull(maxTime, "maxTime");
            Objects.requireNonNull(snapshotInterval, "snapshotInterval");
        }
    }

    /** Where the trainer's products go. The Flink operator forwards them to its outputs and metrics. */
    public interface Outputs {
        /** A STEP, CHECKPOINT, RESTORED or FINISHED event. */
        void event(TrainerEvent event);

        /** A model snapshot for the evaluator; {@code nanos} is the time it took. */
        void snapshot(ModelSnapshot snapshot, long nanos);

        /** A model for publication: a checkpoint's (before its barrier) or the final one (checkpoint id -1). */
        void candidate(ModelCandidate candidate);

        /** The final model, once, when a bound or the end of input stops training. */
        void finalModel(ModelCandidate model);

        /** Called after every step with its result, its duration and the epochs trained. */
        default void stepped(StepResult result, long nanos, double epochs) {}

        /** Called after a step's event, before bounds and snapshots are looked at (the operator's fault injection). */
        default void afterStep(StepResult result) {}
    }

    /**
     * The data-parallel group this trainer is one rank of ({@code trainer.parallelism} > 1). Every rank calls
     * {@link #step} the same number of times, in the same order: that is the lock-step.
     */
    public interface Group {
        /** This rank. */
        int rank();

        /** Number of ranks. */
        int size();

        /** One lock-step: this rank's shares (possibly none) and signals; see {@code AbstractEngine.trainStep(List, long[], ProcessGroup)}. */
        GroupStep step(List<Batch> shares, long[] signals);

        /** Atomically counts this rank's arrival at {@code key} and returns the count including it. */
        long arrive(String key);
    }

    /** Signal fields every rank sends with each lock-step. */
    private static final int SIG_BARRIER = 0, SIG_ENDED = 1, SIG_STOP = 2, SIG_CRC_CHECKPOINT = 3, SIG_CRC = 4, SIG_HELD = 5, SIG_DIGEST = 6, SIGNALS = 7;

    /**
     * A checkpoint's trainer state, how long the synchronous engine copy took and (data-parallel) the digest of the
     * sample ids in the stored model.
     */
    public record Checkpoint(TrainerState state, double engineCopyMillis, long trainedDigest) {}

    private final TrainConfig train;
    private final Settings settings;
    private final TrainingEngine engine;
    private final Outputs out;
    private final LongSupplier nanoClock;
    private final List<AugmentedImage> pending;
    /** The dataset normalisation the engine applies to the augmented bytes (the augmenters' channel count). */
    private final Normalization normalization;

    private long snapshotVersion;
    private long lastSnapshotStep;
    private long lastSnapshotNanos;
    private long trainingNanos;
    private boolean finished;
    private boolean inputEnded;
    private long skipped;
    private StepResult lastStep;
    private long lastStepEventNanos;
    private long lastStepEventImages;
    private long lastOfferedStep;
    private int checkpointsSinceOffer;
    private long preparedCheckpointId = -1;
    private byte[] preparedEngine;
    private double preparedMillis;

    // Data-parallel rank state (group != null).
    private Group group;
    private Duration flushInterval = Duration.ZERO;
    /** The newest checkpoint barrier this rank took, and the oldest newest-barrier over all ranks at the last lock-step. */
    private long ownBarrier, groupBarrier;
    private boolean groupEnded;
    private long lastGroupStepNanos;
    /** The replica digest to announce at the next lock-step, and the checkpoint it belongs to (0: none). */
    private long crcCheckpoint, crcToAnnounce;
    private long stepAtLastBarrier;
    /** Sum of {@link TrainerEvent#digestOf} over every image the group trained (identical on every rank). */
    private long trainedDigest;
    private long preparedDigest;

    /** With overlap: the thread the engine steps on, and the step in flight (null: none). */
    private java.util.concurrent.ExecutorService stepThread;
    private InFlight inFlight;
    /** With overlap: images handed to the engine, the step in flight included (the engine's count lags behind it). */
    private long imagesSubmitted;

    private record InFlight(java.util.concurrent.Future<StepResult> result, long[] nanos) {}

    private Trainer(TrainConfig train, Settings settings, TrainingEngine engine, TrainerState restored, Outputs out, LongSupplier nanoClock) {
        this.train = Objects.requireNonNull(train, "train");
        this.normalization = Normalization.forChannels(train.wrn().channels());
        this.settings = Objects.requireNonNull(settings, "settings");
        this.engine = Objects.requireNonNull(engine, "engine");
        this.out = Objects.requireNonNull(out, "out");
        this.nanoClock = Objects.requireNonNull(nanoClock, "nanoClock");
        this.pending = new ArrayList<>(settings.batchSize());
        if (restored != null) {
            pending.addAll(restored.pending());
            snapshotVersion = restored.snapshotVersion();
            lastSnapshotStep = restored.lastSnapshotStep();
            trainingNanos = restored.trainingNanos();
            finished = restored.finished();
        }
        lastOfferedStep = engine.step(); // a restored model was offered with its checkpoint; a fresh one is untrained
        lastSnapshotNanos = nanoClock.getAsLong();
        lastStepEventNanos = lastSnapshotNanos;
        lastStepEventImages = engine.imagesSeen();
        imagesSubmitted = engine.imagesSeen();
    }

    /**
     * Steps the engine on a thread of its own from now on, overlapping each step with the assembly of the next batch
     * (see the class comment). Only for a trainer that trains alone: a data-parallel rank's lock-step stays synchronous.
     */
    public Trainer overlapSteps() {
        if (group != null) throw new IllegalStateException("A data-parallel rank steps in lock-step; trainer.overlap applies to a trainer that trains alone");
        if (stepThread == null) {
            stepThread = java.util.concurrent.Executors.newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, "wrn-trainer-step");
                t.setDaemon(true);
                return t;
            });
        }
        return this;
    }

    /** Whether steps overlap the assembly of the next batch. */
    public boolean overlapping() {
        return stepThread != null;
    }

    /** A trainer of a fresh {@code engine} (built from {@code train}); it owns the engine from now on. */
    public static Trainer start(TrainConfig train, Settings settings, TrainingEngine engine, Outputs out, LongSupplier nanoClock) {
        LOG.info("Trainer started a new {} ({} parameters), batch {}, seed {}", train.wrn().name(), engine.parameterCount(),
                settings.batchSize(), train.seed());
        return new Trainer(train, settings, engine, null, out, nanoClock);
    }

    /**
     * A trainer that continues from {@code state}, with {@code engine} restored from {@code state.engine()}; it emits a
     * RESTORED event whose digest is the restored engine's, so equal digests before and after prove an exact restore.
     */
    public static Trainer resume(TrainConfig train, Settings settings, TrainingEngine engine, TrainerState state, Outputs out,
                                 LongSupplier nanoClock) {
        Trainer t = new Trainer(train, settings, engine, Objects.requireNonNull(state, "state"), out, nanoClock);
        long crc = crc(engine.snapshot());
        LOG.info("Trainer restored from checkpoint {}: step {}, {} images seen, {} pending images, state crc {}", state.checkpointId(),
                engine.step(), engine.imagesSeen(), t.pending.size(), crc);
        out.event(t.event(TrainerEvent.Kind.RESTORED, state.checkpointId(), crc));
        return t;
    }

    /**
     * Makes this trainer rank {@code group.rank()} of a data-parallel group: it trains its share of each global batch,
     * joins a lock-step whenever its share is full, when {@code flushInterval} passed ({@link #onTimer}) or, while it
     * holds a checkpoint barrier the others have not all taken, at once and with nothing (the exactly-once protocol,
     * see {@link TrainerOperator}). {@code restoredBarrier} is the checkpoint it was restored from (0 for a fresh run).
     */
    public Trainer joining(Group group, Duration flushInterval, long restoredBarrier, long restoredDigest) {
        this.trainedDigest = restoredDigest;
        if (!(engine instanceof io.wrnstream.model.engine.AbstractEngine)) {
            throw new IllegalStateException("engine " + train.engine() + " cannot train data-parallel");
        }
        this.group = Objects.requireNonNull(group, "group");
        this.flushInterval = Objects.requireNonNull(flushInterval, "flushInterval");
        this.ownBarrier = restoredBarrier;
        this.groupBarrier = restoredBarrier;
        this.lastGroupStepNanos = nanoClock.getAsLong();
        this.stepAtLastBarrier = engine.step();
        return this;
    }

    /** Whether this trainer is rank 0 (or trains alone): the rank whose snapshots, models and events leave the trainer. */
    public boolean leader() {
        return group == null || group.rank() == 0;
    }

    /** Takes one image; trains a step when the batch is full. Images after the end of training are counted and dropped. */
    public void add(AugmentedImage image) {
        if (finished) {
            skipped++;
            return;
        }
        pending.add(image);
        if (group != null) {
            if (frozen() || pending.size() >= shareSize()) groupStep();
            return;
        }
        if (pending.size() >= nextBatchSize()) trainPending();
    }

    /** Processing time passed: a rank that waited {@code trainer.flush-interval} joins a lock-step with what it has. */
    public void onTimer() {
        if (group == null || finished) return;
        if (nanoClock.getAsLong() - lastGroupStepNanos >= flushInterval.toNanos()) groupStep();
    }

    /** The input ended: trains the partial batch and finishes, unless a bound finished training already. */
    public void endInput() {
        if (group != null) {
            groupEnded = true;
            while (!finished) groupStep(); // keeps joining until every rank's input ended and every image is trained
            inputEnded = true;
            if (skipped > 0) LOG.info("Ignored {} images that arrived after training finished", skipped);
            return;
        }
        completeInFlight();
        if (!finished) finishTraining();
        inputEnded = true;
        if (skipped > 0) LOG.info("Ignored {} images that arrived after training finished", skipped);
    }

    /**
     * Called before a checkpoint's barrier goes downstream: takes the engine copy the checkpoint will store, reports it
     * as a CHECKPOINT event (which therefore belongs to this checkpoint) and offers it for publication when due. After
     * the end of input nothing is emitted: the final checkpoint's state is the FINISHED event's.
     */
    public void beforeBarrier(long checkpointId) {
        if (group != null) {
            groupBarrier(checkpointId);
            return;
        }
        completeInFlight(); // the checkpoint holds every batch handed to the engine: wait for the one in flight, no longer
        long t0 = nanoClock.getAsLong();
        preparedEngine = engine.snapshot();
        preparedCheckpointId = checkpointId;
        preparedMillis = (nanoClock.getAsLong() - t0) / 1e6;
        if (inputEnded) return;
        out.event(event(TrainerEvent.Kind.CHECKPOINT, checkpointId, crc(preparedEngine)));
        offerModel(checkpointId, preparedEngine);
    }

    /** The complete state for checkpoint {@code checkpointId}, using the copy {@link #beforeBarrier} took for it. */
    public Checkpoint checkpoint(long checkpointId) {
        completeInFlight();
        boolean prepared = preparedCheckpointId == checkpointId;
        long t0 = nanoClock.getAsLong();
        byte[] engineBytes = prepared ? preparedEngine : engine.snapshot();
        double millis = prepared ? preparedMillis : (nanoClock.getAsLong() - t0) / 1e6;
        preparedEngine = null;
        preparedCheckpointId = -1;
        return new Checkpoint(new TrainerState(checkpointId, engineBytes, engine.step(), engine.imagesSeen(), snapshotVersion,
                lastSnapshotStep, trainingNanos, finished, pending), millis, prepared && group != null ? preparedDigest : trainedDigest);
    }

    /** Whether a bound or the end of input finished training. */
    public boolean finished() {
        return finished;
    }

    /** Images waiting for the next step. */
    public int pendingImages() {
        return pending.size();
    }

    /** Model snapshots emitted so far. */
    public long snapshotVersion() {
        return snapshotVersion;
    }

    /** The engine being trained. */
    public TrainingEngine engine() {
        return engine;
    }

    @Override
    public void close() {
        if (stepThread != null) {
            if (inFlight != null) {
                try {
                    inFlight.result().get(); // the engine must not be closed under a running step
                } catch (Exception e) {
                    LOG.debug("The step in flight at close failed", e);
                }
                inFlight = null;
            }
            stepThread.shutdownNow();
        }
        engine.close();
    }

    // --- Data-parallel rank ----------------------------------------------------------------------------------------

    /** Whether this rank took a barrier that not every rank has taken: then it contributes nothing. */
    private boolean frozen() {
        return ownBarrier > groupBarrier && !allEnded;
    }

    private boolean allEnded;

    /** This rank's share of the next global batch (of fewer images to stop exactly at {@code max-images}). */
    private int shareSize() {
        long global = nextBatchSize();
        int n = group.size(), r = group.rank();
        return (int) (global / n + (r < global % n ? 1 : 0));
    }

    /**
     * At the barrier of checkpoint {@code checkpointId}: this rank stops contributing until every rank has taken it.
     * The group store counts the arrivals; the rank that arrives last holds the checkpoint's model (no rank trained
     * anything since its own barrier, so the last one's model contains exactly the images before every rank's barrier)
     * and stores it, announces it as the CHECKPOINT event and offers it for publication.
     */
    private void groupBarrier(long checkpointId) {
        long t0 = nanoClock.getAsLong();
        preparedCheckpointId = checkpointId;
        boolean last;
        if (finished) {
            last = group.rank() == 0; // replicas are identical after the final step; the store may be gone
        } else {
            ownBarrier = checkpointId;
            last = group.arrive("barrier-" + checkpointId) == group.size();
        }
        preparedEngine = last ? engine.snapshot() : new byte[0];
        preparedDigest = trainedDigest;
        preparedMillis = (nanoClock.getAsLong() - t0) / 1e6;
        if (!last || inputEnded) return;
        LOG.info("Rank {} took checkpoint {}'s barrier last: it stores the model at step {}", group.rank(), checkpointId, engine.step());
        out.event(event(TrainerEvent.Kind.CHECKPOINT, checkpointId, crc(preparedEngine)));
        boolean due = checkpointId % settings.publishEveryCheckpoints() == 0 && engine.step() > stepAtLastBarrier;
        stepAtLastBarrier = engine.step();
        if (settings.publish() && due) out.candidate(candidate(checkpointId, preparedEngine));
    }

    /** One lock-step with the group; every decision below depends only on what every rank received alike. */
    private void groupStep() {
        List<AugmentedImage> take = List.of();
        if (!frozen()) {
            int n = Math.min(pending.size(), shareSize());
            take = new ArrayList<>(pending.subList(0, n));
            pending.subList(0, n).clear();
        }
        long maxNanos = settings.maxTime().toNanos();
        long[] signals = new long[SIGNALS];
        signals[SIG_BARRIER] = ownBarrier;
        signals[SIG_ENDED] = groupEnded ? 1 : 0;
        signals[SIG_STOP] = maxNanos > 0 && trainingNanos >= maxNanos ? 1 : 0;
        signals[SIG_CRC_CHECKPOINT] = crcCheckpoint;
        signals[SIG_CRC] = crcToAnnounce;
        signals[SIG_HELD] = pending.size();
        long digest = 0;
        for (AugmentedImage a : take) digest += TrainerEvent.digestOf(a.id());
        signals[SIG_DIGEST] = digest;
        crcCheckpoint = 0;
        long t0 = nanoClock.getAsLong();
        GroupStep g = group.step(take.isEmpty() ? List.of() : List.of(batchOf(take).toBatch()), signals);
        long nanos = nanoClock.getAsLong() - t0;
        lastGroupStepNanos = nanoClock.getAsLong();
        checkReplicas(g.signals());
        long minBarrier = Long.MAX_VALUE;
        boolean ended = true, stop = false;
        long held = 0;
        for (long[] sig : g.signals()) {
            minBarrier = Math.min(minBarrier, sig[SIG_BARRIER]);
            ended &= sig[SIG_ENDED] == 1;
            stop |= sig[SIG_STOP] == 1;
            held += sig[SIG_HELD];
            if (g.trained()) trainedDigest += sig[SIG_DIGEST];
        }
        if (minBarrier > groupBarrier && minBarrier == ownBarrier) {
            // Every rank has now taken this checkpoint's barrier and nothing was trained since the last one took it:
            // the replicas hold the checkpoint's model. Their digests travel with the next lock-step and must agree.
            crcCheckpoint = minBarrier;
            crcToAnnounce = crc(engine.snapshot());
        }
        groupBarrier = minBarrier;
        allEnded = ended;
        if (g.trained()) {
            lastStep = g.result();
            trainingNanos += nanos;
            out.stepped(lastStep, nanos, train.optim().epochOf(lastStep.imagesSeen()));
            if (leader() && lastStep.step() % settings.progressSteps() == 0) {
                TrainerEvent e = event(TrainerEvent.Kind.STEP, -1, 0);
                LOG.info("step {} images {} loss {} acc {} lr {} ({} images/s, images by rank {})", e.step(), e.imagesSeen(),
                        String.format("%.4f", e.loss()), String.format("%.3f", e.accuracy()), e.learningRate(),
                        String.format("%.1f", e.imagesPerSecond()), java.util.Arrays.toString(g.images()));
                out.event(e);
            }
            out.afterStep(lastStep);
        }
        boolean boundReached = (settings.maxImages() > 0 && engine.imagesSeen() >= settings.maxImages()) || stop;
        if (boundReached || (ended && !g.trained() && held == 0)) {
            finishGroup();
        } else if (g.trained() && leader() && snapshotDue()) {
            emitSnapshot();
        }
    }

    /** Fails loudly when ranks announced different digests of the same checkpoint's replica. */
    private void checkReplicas(long[][] signals) {
        long checkpoint = 0, first = 0;
        for (int r = 0; r < signals.length; r++) {
            if (signals[r][SIG_CRC_CHECKPOINT] == 0) continue;
            if (checkpoint == 0) {
                checkpoint = signals[r][SIG_CRC_CHECKPOINT];
                first = signals[r][SIG_CRC];
            } else if (signals[r][SIG_CRC_CHECKPOINT] != checkpoint || signals[r][SIG_CRC] != first) {
                StringBuilder all = new StringBuilder();
                for (int q = 0; q < signals.length; q++) all.append(q == 0 ? "" : ", ").append("rank ").append(q).append(": checkpoint ")
                        .append(signals[q][SIG_CRC_CHECKPOINT]).append(" crc ").append(signals[q][SIG_CRC]);
                throw new IllegalStateException("Replicas differ after checkpoint " + checkpoint + " (" + all + "): the ranks no longer train one model");
            }
        }
        if (checkpoint != 0 && leader()) LOG.info("Replicas agree after checkpoint {}: crc {} on all {} ranks", checkpoint, first, signals.length);
    }

    private void finishGroup() {
        finished = true;
        skipped += pending.size(); // beyond a bound
        pending.clear();
        if (!leader()) {
            LOG.info("Rank {} finished at step {} after {} images", group.rank(), engine.step(), engine.imagesSeen());
            return;
        }
        if (engine.step() > lastSnapshotStep || snapshotVersion == 0) emitSnapshot();
        byte[] bytes = engine.snapshot();
        offerModel(-1, bytes);
        out.finalModel(candidate(-1, bytes));
        LOG.info("Training finished at step {} after {} images on {} ranks ({} s of training)", engine.step(), engine.imagesSeen(),
                group.size(), String.format("%.1f", trainingNanos / 1e9));
        out.event(event(TrainerEvent.Kind.FINISHED, -1, crc(bytes)));
    }

    /** The minibatch of {@code images} as bytes; the engine normalises it. */
    private PixelBatch batchOf(List<AugmentedImage> images) {
        WrnConfig w = train.wrn();
        int size = w.channels() * w.height() * w.width();
        byte[] px = new byte[images.size() * size];
        int[] labels = new int[images.size()];
        for (int i = 0; i < images.size(); i++) {
            AugmentedImage a = images.get(i);
            if (a.pixels().length != size) {
                throw new IllegalStateException("Augmented image " + a.id() + " has " + a.pixels().length + " pixels, the model takes " + size);
            }
            System.arraycopy(a.pixels(), 0, px, i * size, size);
            labels[i] = a.label();
        }
        return new PixelBatch(px, labels, w.channels(), w.height(), w.width(), normalization);
    }

    /** Images the next step takes: the batch size, or fewer to stop exactly at {@code max-images}. */
    private int nextBatchSize() {
        long max = settings.maxImages();
        long seen = stepThread != null ? imagesSubmitted : engine.imagesSeen();
        return max > 0 ? (int) Math.max(1, Math.min(settings.batchSize(), max - seen)) : settings.batchSize();
    }

    private void trainPending() {
        PixelBatch batch = batchOf(pending);
        pending.clear();
        if (stepThread != null) {
            completeInFlight();
            if (finished) { // the step in flight reached a bound: this batch is beyond it
                skipped += batch.size();
                return;
            }
            long[] nanos = new long[1];
            inFlight = new InFlight(stepThread.submit(() -> {
                long t0 = nanoClock.getAsLong();
                StepResult r = engine.trainStep(batch);
                nanos[0] = nanoClock.getAsLong() - t0;
                return r;
            }), nanos);
            imagesSubmitted += batch.size();
            // the step that reaches max-images finishes training at once, not when the next image (if any) arrives
            if (settings.maxImages() > 0 && imagesSubmitted >= settings.maxImages()) completeInFlight();
            return;
        }
        long t0 = nanoClock.getAsLong();
        StepResult result = engine.trainStep(batch);
        afterTrained(result, nanoClock.getAsLong() - t0);
    }

    /** Waits for the step in flight, if any, and does what follows from its result. */
    private void completeInFlight() {
        if (inFlight == null) return;
        InFlight f = inFlight;
        inFlight = null;
        StepResult result;
        try {
            result = f.result().get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while waiting for the training step in flight", e);
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof RuntimeException re) throw re;
            if (e.getCause() instanceof Error err) throw err;
            throw new IllegalStateException("Training step failed: " + e.getCause(), e.getCause());
        }
        afterTrained(result, f.nanos()[0]);
    }

    /** Events, bounds and snapshots after a step that took {@code nanos}. */
    private void afterTrained(StepResult result, long nanos) {
        lastStep = result;
        trainingNanos += nanos;
        out.stepped(lastStep, nanos, train.optim().epochOf(lastStep.imagesSeen()));
        if (lastStep.step() % settings.progressSteps() == 0) {
            TrainerEvent e = event(TrainerEvent.Kind.STEP, -1, 0);
            LOG.info("step {} images {} loss {} acc {} lr {} ({} images/s)", e.step(), e.imagesSeen(), String.format("%.4f", e.loss()),
                    String.format("%.3f", e.accuracy()), e.learningRate(), String.format("%.1f", e.imagesPerSecond()));
            out.event(e);
        }
        out.afterStep(lastStep);
        if (boundReached()) {
            // images that arrived while an overlapped step ran are beyond the bound, as they would have been after it
            skipped += pending.size();
            pending.clear();
            finishTraining();
        } else if (snapshotDue()) {
            emitSnapshot();
        }
    }

    private boolean boundReached() {
        long maxImages = settings.maxImages();
        long maxNanos = settings.maxTime().toNanos();
        return (maxImages > 0 && engine.imagesSeen() >= maxImages) || (maxNanos > 0 && trainingNanos >= maxNanos);
    }

    private boolean snapshotDue() {
        long everySteps = settings.snapshotSteps();
        long everyNanos = settings.snapshotInterval().toNanos();
        return (everySteps > 0 && engine.step() - lastSnapshotStep >= everySteps)
                || (everyNanos > 0 && nanoClock.getAsLong() - lastSnapshotNanos >= everyNanos);
    }

    private void emitSnapshot() {
        long t0 = nanoClock.getAsLong();
        snapshotVersion++;
        lastSnapshotStep = engine.step();
        lastSnapshotNanos = t0;
        ModelSnapshot s = new ModelSnapshot(snapshotVersion, engine.step(), engine.imagesSeen(), train.optim().epochOf(engine.imagesSeen()),
                System.currentTimeMillis(), engine.snapshot());
        out.snapshot(s, nanoClock.getAsLong() - t0);
    }

    private void finishTraining() {
        completeInFlight(); // may itself reach a bound and finish
        if (finished) return;
        if (!pending.isEmpty()) {
            trainPending(); // may call finishTraining() again through boundReached(); the flag below makes that harmless
            completeInFlight();
            if (finished) return;
        }
        finished = true;
        if (engine.step() > lastSnapshotStep || snapshotVersion == 0) emitSnapshot();
        byte[] bytes = engine.snapshot();
        offerModel(-1, bytes);
        out.finalModel(candidate(-1, bytes));
        LOG.info("Training finished at step {} after {} images ({} s of training)", engine.step(), engine.imagesSeen(),
                String.format("%.1f", trainingNanos / 1e9));
        out.event(event(TrainerEvent.Kind.FINISHED, -1, crc(bytes)));
    }

    /**
     * Offers the model for publication when {@code model.publish} is on, training advanced since the last offer and
     * {@code model.publish-every-checkpoints} checkpoints passed; {@code checkpointId} -1 (the final model) is always due.
     */
    private void offerModel(long checkpointId, byte[] snapshot) {
        if (!settings.publish()) return;
        if (checkpointId >= 0) checkpointsSinceOffer++;
        boolean due = checkpointId < 0 || checkpointsSinceOffer >= settings.publishEveryCheckpoints();
        if (!due || engine.step() <= lastOfferedStep) return;
        out.candidate(candidate(checkpointId, snapshot));
        lastOfferedStep = engine.step();
        checkpointsSinceOffer = 0;
    }

    private ModelCandidate candidate(long checkpointId, byte[] snapshot) {
        return new ModelCandidate(checkpointId, engine.step(), engine.imagesSeen(), train.optim().epochOf(engine.imagesSeen()),
                System.currentTimeMillis(), snapshot);
    }

    private TrainerEvent event(TrainerEvent.Kind kind, long checkpointId, long crc) {
        long now = nanoClock.getAsLong();
        double seconds = (now - lastStepEventNanos) / 1e9;
        double rate = kind == TrainerEvent.Kind.STEP && seconds > 0 ? (engine.imagesSeen() - lastStepEventImages) / seconds : 0;
        if (kind == TrainerEvent.Kind.STEP) {
            lastStepEventNanos = now;
            lastStepEventImages = engine.imagesSeen();
        }
        boolean step = kind == TrainerEvent.Kind.STEP && lastStep != null;
        return new TrainerEvent(kind, checkpointId, engine.step(), engine.imagesSeen(), step ? lastStep.loss() : Double.NaN,
                step ? lastStep.accuracy() : Double.NaN, train.optim().learningRateAt(engine.imagesSeen()), crc, rate,
                System.currentTimeMillis(), group != null && kind != TrainerEvent.Kind.STEP ? trainedDigest : 0);
    }

    /** CRC-32 of engine snapshot bytes: equal digests before a checkpoint and after its restore prove an exact restore. */
    public static long crc(byte[] bytes) {
        CRC32 c = new CRC32();
        c.update(bytes);
        return c.getValue();
    }
}
