package io.wrnstream.jobs.train;

import io.wrnstream.jobs.publish.Json;
import java.util.Locale;

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
public record TrainerEvent(Kind kind, long checkpointId, long step, long imagesSeen, double loss, double accuracy, double learningRate,
                           long stateDigest, double imagesPerSecond, long wallMs, long trainedDigest) {

    /** Kinds of trainer event. */
    public enum Kind { STEP, CHECKPOINT, RESTORED, FINISHED }

    /** One JSON object on one line. */
    public String toJson() {
        return String.format(Locale.ROOT, "{\"event\":\"%s\",\"checkpoint\":%d,\"step\":%d,\"images_seen\":%d,\"loss\":%s,\"accuracy\":%s,"
                        + "\"lr\":%s,\"state_crc\":%d,\"images_per_s\":%.2f,\"wall_ms\":%d,\"trained_digest\":%d}", kind, checkpointId, step, imagesSeen,
                num(loss), num(accuracy), num(learningRate), stateDigest, imagesPerSecond, wallMs, trainedDigest);
    }

    static String num(double d) {
        return Double.isFinite(d) ? String.format(Locale.ROOT, "%.6g", d) : "null";
    }

    /** Parses {@link #toJson()} output (used by tests and the demo). */
    public static TrainerEvent fromJson(String json) {
        java.util.Map<String, String> m = Json.flat(json);
        return new TrainerEvent(Kind.valueOf(m.get("event")), Long.parseLong(m.get("checkpoint")), Long.parseLong(m.get("step")),
                Long.parseLong(m.get("images_seen")), Json.dbl(m.get("loss")), Json.dbl(m.get("accuracy")), Json.dbl(m.get("lr")),
                Long.parseLong(m.get("state_crc")), Json.dbl(m.get("images_per_s")), Long.parseLong(m.get("wall_ms")),
                Long.parseLong(m.getOrDefault("trained_digest", "0")));
    }

    /** One sample id's term of the trained digest (SplitMix64's finaliser): sums of terms are order-free, repeats show. */
    public static long digestOf(long sampleId) {
        long z = sampleId + 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
