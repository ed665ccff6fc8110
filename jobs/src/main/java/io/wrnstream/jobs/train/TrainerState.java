package io.wrnstream.jobs.train;

import io.wrnstream.jobs.augment.AugmentedImage;
import java.util.List;
import java.util.Objects;

/**
 * Everything the trainer needs to continue exactly after a restore. Parameters, optimiser (updater) state, step,
 * images seen and the engine's own random state live inside {@code engine} (the engine's versioned snapshot); the
 * learning-rate position follows from images seen. The rest is the trainer's own bookkeeping.
 *
 * @param checkpointId the Flink checkpoint this state was taken for
 * @param engine {@link io.wrnstream.model.engine.TrainingEngine#snapshot()} bytes
 * @param step steps taken
 * @param imagesSeen images trained on
 * @param snapshotVersion model snapshots emitted so far (the version of the last one)
 * @param lastSnapshotStep step of the last emitted model snapshot
 * @param trainingNanos training time spent so far, for the {@code max-time} bound
 * @param finished whether a bound was reached and the final model written
 * @param pending images of the partial minibatch not yet trained on, in arrival order
 */
public record TrainerState(long checkpointId, byte[] engine, long step, long imagesSeen, long snapshotVersion, long lastSnapshotStep,
                           long trainingNanos, boolean finished, List<AugmentedImage> pending) {

    public TrainerState {
        Objects.requireNonNull(engine, "engine");
        pending = List.copyOf(pending);
    }
}
