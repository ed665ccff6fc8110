package io.wrnstream.jobs.eval;

import io.wrnstream.model.io.JsonRecords;

/**
 * One evaluation of a model snapshot on the held-out set, as published to the results topic and the log.
 *
 * @param modelVersion version of the evaluated snapshot
 * @param step training steps of the snapshot
 * @param imagesSeen training images of the snapshot
 * @param epochs fractional epochs of the snapshot
 * @param testError top-1 error on the held-out images, in [0, 1]
 * @param testLoss mean cross-entropy on the held-out images
 * @param images number of held-out images evaluated
 * @param wallMs wall-clock time the snapshot was taken, epoch millis
 * @param evalMs how long the evaluation took, millis
 */
public record Evaluation(long modelVersion, long step, long imagesSeen, double epochs, double testError, double testLoss, long images,
                         long wallMs, long evalMs) {
    /** Format of the JSON layout written by this code. */
    public static final String FORMAT = "wrn-stream.eval/1";

    /**
     * One JSON object on one line: {@code {"format":"wrn-stream.eval/1","model_version":..,"step":..,"images_seen":..,
     * "epochs":..,"test_error":..,"test_loss":..,"images":..,"wall_ms":..,"eval_ms":..}} (a non-finite loss is null).
     */
    public String toJson() {
        return JsonRecords.write(FORMAT, this);
    }

    /**
     * Parses {@link #toJson()} output.
     *
     * @throws IllegalArgumentException when it is not JSON, has another format or lacks a field, naming it
     */
    public static Evaluation fromJson(String json) {
        return JsonRecords.read(json, FORMAT, "evaluation record", Evaluation.class);
    }
}
