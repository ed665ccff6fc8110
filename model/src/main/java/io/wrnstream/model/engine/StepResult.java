package io.wrnstream.model.engine;

/**
 * What one SGD step did.
 *
 * @param step number of steps taken so far, this one included
 * @param imagesSeen training images consumed so far, this batch included
 * @param loss mean cross-entropy of the batch (before the update; without the weight-decay term)
 * @param accuracy fraction of the batch classified correctly (before the update)
 * @param learningRate learning rate used for this step
 * @param nonFinite true if loss or gradients were NaN/Inf and the update was skipped
 */
public record StepResult(long step, long imagesSeen, double loss, double accuracy, double learningRate, boolean nonFinite) {
}
