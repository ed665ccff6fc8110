package io.wrnstream.cli.report;

/**
 * One evaluation of the learning curve.
 *
 * @param step training steps
 * @param imagesSeen training images seen
 * @param epochs fractional epochs, NaN when unknown
 * @param testError top-1 test error in [0, 1]
 * @param testLoss mean test cross-entropy, NaN when unknown
 * @param images held-out images evaluated, -1 when unknown
 * @param modelVersion evaluated snapshot version, -1 when unknown
 * @param wallMs wall-clock time, epoch millis, -1 when unknown
 * @param trainLoss mean training loss since the previous evaluation, NaN when unknown
 */
public record EvalPoint(long step, long imagesSeen, double epochs, double testError, double testLoss, long images, long modelVersion,
                        long wallMs, double trainLoss) {}
