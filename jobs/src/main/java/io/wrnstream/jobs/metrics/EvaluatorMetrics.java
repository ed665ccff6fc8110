package io.wrnstream.jobs.metrics;

import static io.wrnstream.jobs.metrics.MetricNames.*;

import java.util.function.LongSupplier;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.runtime.metrics.DescriptiveStatisticsHistogram;

/**
 * The evaluator's metrics (names in {@link MetricNames}): the latest test error and loss with the model version and
 * images seen they belong to (the points of the learning curve), and the count and duration of evaluations.
 */
public final class EvaluatorMetrics {
    private final Counter evaluations;
    private final Histogram evaluationTime;
    private volatile double testError = Double.NaN;
    private volatile double testLoss = Double.NaN;
    private volatile long modelVersion;
    private volatile long imagesSeen;

    private EvaluatorMetrics(MetricGroup operator, LongSupplier droppedSnapshots, LongSupplier heldOutImages) {
        MetricGroup g = operator.addGroup(GROUP);
        g.gauge(TEST_ERROR, () -> testError);
        g.gauge(TEST_LOSS, () -> testLoss);
        g.gauge(EVALUATED_MODEL_VERSION, () -> modelVersion);
        g.gauge(EVALUATED_IMAGES_SEEN, () -> imagesSeen);
        g.gauge(DROPPED_SNAPSHOTS, droppedSnapshots::getAsLong);
        g.gauge(HELD_OUT_IMAGES, heldOutImages::getAsLong);
        evaluations = g.counter(EVALUATIONS);
        evaluationTime = g.histogram(EVALUATION_TIME_MS, new DescriptiveStatisticsHistogram(TrainerMetrics.WINDOW));
    }

    /** Registers the evaluator's metrics under {@code operator}'s {@value MetricNames#GROUP} group. */
    public static EvaluatorMetrics register(MetricGroup operator, LongSupplier droppedSnapshots, LongSupplier heldOutImages) {
        return new EvaluatorMetrics(operator, droppedSnapshots, heldOutImages);
    }

    /** Records an evaluation of model {@code modelVersion} (trained on {@code imagesSeen} images) that took {@code millis}. */
    public void onEvaluation(long modelVersion, long imagesSeen, double testError, double testLoss, long millis) {
        this.testError = testError;
        this.testLoss = testLoss;
        this.modelVersion = modelVersion;
        this.imagesSeen = imagesSeen;
        evaluations.inc();
        evaluationTime.update(millis);
    }
}
