package io.wrnstream.cli;

import io.wrnstream.model.io.JsonRecords;

/**
 * One test evaluation of the offline {@code train} command, as the JSON line it prints (and appends to
 * {@code --metrics-out}); {@code report} reads these lines as it reads the job's evaluation records.
 *
 * @param step training steps
 * @param imagesSeen training images
 * @param epochs fractional epochs
 * @param testError top-1 error on the test images, in [0, 1]
 * @param testLoss mean cross-entropy on the test images
 * @param testImages test images evaluated
 * @param evalSeconds how long the evaluation took
 * @param elapsedSeconds training time so far
 */
public record TrainEvaluation(long step, long imagesSeen, double epochs, double testError, double testLoss, long testImages,
                              double evalSeconds, double elapsedSeconds) {
    /** Format of the JSON layout written by this code. */
    public static final String FORMAT = "wrn-stream.train-eval/1";

    /** One JSON object on one line, {@code "format":"wrn-stream.train-eval/1"} first. */
    public String toJson() {
        return JsonRecords.write(FORMAT, this);
    }

    /**
     * Parses {@link #toJson()} output.
     *
     * @throws IllegalArgumentException when it is not JSON, has another format or lacks a field, naming it
     */
    public static TrainEvaluation fromJson(String json) {
        return JsonRecords.read(json, FORMAT, "train evaluation", TrainEvaluation.class);
    }
}
