package io.wrnstream.jobs.update;

import io.wrnstream.kafka.update.ModelUpdate;

import java.util.Arrays;

/**
 * The trainer's model as it goes into a checkpoint (emitted before the checkpoint's barrier), or at the end of
 * training: a candidate for publication that {@link ModelPublisherOperator} turns into a {@link ModelUpdate}.
 *
 * @param checkpointId the checkpoint whose barrier follows it, or -1 for the final model at the end of training
 * @param step steps taken
 * @param imagesSeen training images seen
 * @param epochs fractional epochs of images seen
 * @param wallMs wall-clock time it was taken, epoch millis
 * @param engine {@link io.wrnstream.model.engine.TrainingEngine#snapshot()} bytes
 */
public record ModelCandidate(long checkpointId, long step, long imagesSeen, double epochs, long wallMs, byte[] engine) {

    @Override
    public boolean equals(Object o) {
        return o instanceof ModelCandidate m && checkpointId == m.checkpointId && step == m.step && imagesSeen == m.imagesSeen
                && Arrays.equals(engine, m.engine);
    }

    @Override
    public int hashCode() {
        return Long.hashCode(checkpointId) * 31 + Long.hashCode(step);
    }

    @Override
    public String toString() {
        return "ModelCandidate[checkpoint " + checkpointId + ", step=" + step + ", images=" + imagesSeen + ", " + engine.length + " bytes]";
    }
}
