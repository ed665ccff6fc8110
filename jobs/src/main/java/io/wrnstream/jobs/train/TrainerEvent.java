package io.wrnstream.jobs.train;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.wrnstream.model.io.JsonRecords;

/**
 * What the trainer reports on its main output, for progress display and for checking recovery: a training step,
 * the state going into a checkpoint (emitted before its barrier), a restore, or the end of training.
 *
 * @param kind what happened
 * @param checkpointId the checkpoint concerned (CHECKPOINT, RESTORED), else -1
 * @param step steps taken
 * @param imagesSeen images trained on
 * @param loss last batch loss (STEP), else NaN
 * @param accuracy last batch accuracy (STEP), else NaN
 * @param learningRate learning rate of the last step
 * @param stateDigest CRC-32 of the engine snapshot (CHECKPOINT: as checkpointed; RESTORED: re-taken after restore), else 0
 * @param imagesPerSecond training throughput since the previous STEP event (STEP), else 0
 * @param wallMs wall-clock time, epoch millis
 * @param trainedDigest with {@code trainer.parallelism} > 1 (CHECKPOINT, FINISHED): the order-free digest of the sample
 *                      ids trained so far ({@link #digestOf}, summed), to compare with the inputs'; else 0
 */
public record TrainerEvent(@JsonProperty("event") Kind kind, @JsonProperty("checkpoint") long checkpointId, long step, long imagesSeen,
                           double loss, double accuracy, @JsonProperty("lr") double learningRate,
                           @JsonProperty("state_crc") long stateDigest, @JsonProperty("images_per_s") double imagesPerSecond, long wallMs,
                           long trainedDigest) {
    /** Format of the JSON layout written by this code. */
    public static final String FORMAT = "wrn-stream.trainer-event/1";

    /** Kinds of trainer event. */
    public enum Kind { STEP, CHECKPOINT, RESTORED, FINISHED }

    /**
     * One JSON object on one line: {@code {"format":"wrn-stream.trainer-event/1","event":"STEP","checkpoint":-1,"step":..,
     * "images_seen":..,"loss":..,"accuracy":..,"lr":..,"state_crc":..,"images_per_s":..,"wall_ms":..,"trained_digest":..}} (NaN is null).
     */
    public String toJson() {
        return JsonRecords.write(FORMAT, this);
    }

    /**
     * Parses {@link #toJson()} output (used by tests and the demo).
     *
     * @throws IllegalArgumentException when it is not JSON, has another format or lacks a field, naming it
     */
    public static TrainerEvent fromJson(String json) {
        return JsonRecords.read(json, FORMAT, "trainer event", TrainerEvent.class);
    }

    /** One sample id's term of the trained digest (SplitMix64's finaliser): sums of terms are order-free, repeats show. */
    public static long digestOf(long sampleId) {
        long z = sampleId + 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
