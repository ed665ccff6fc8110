package io.wrnstream.model.engine;

/**
 * What one lock-step of a data-parallel group produced on every rank alike.
 *
 * @param result the step's result over all ranks' images (loss and accuracy image-weighted), or null when no rank
 *               contributed an image: then nothing was trained and the counters did not move (a heartbeat)
 * @param images images each rank contributed, by rank
 * @param signals each rank's protocol fields, by rank ({@code signals[rank][field]}), as that rank passed them
 */
public record GroupStep(StepResult result, int[] images, long[][] signals) {

    /** Whether any rank contributed an image (a real step rather than a heartbeat). */
    public boolean trained() {
        return result != null;
    }
}
