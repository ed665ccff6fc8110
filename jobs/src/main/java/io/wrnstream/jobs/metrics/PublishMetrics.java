package io.wrnstream.jobs.metrics;

import static io.wrnstream.jobs.metrics.MetricNames.*;

import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.runtime.metrics.DescriptiveStatisticsHistogram;

/**
 * Metrics of the stage that writes model files to the model store and announces them (names in {@link MetricNames}).
 * Once an operator registers them, the dashboard may chart them and {@code MetricsITCase} checks they are exported.
 *
 * <pre>{@code
 * PublishMetrics m = PublishMetrics.register(getMetricGroup());
 * long t0 = System.nanoTime();
 * ... write, rename, send ...
 * m.onPublish(version, bytes, System.nanoTime() - t0);
 * }</pre>
 */
public final class PublishMetrics {
    private final Counter publishes;
    private final Counter failures;
    private final Histogram time;
    private volatile long version;
    private volatile long bytes;

    private PublishMetrics(MetricGroup operator) {
        MetricGroup g = operator.addGroup(GROUP);
        publishes = g.counter(MODEL_PUBLISHES);
        failures = g.counter(MODEL_PUBLISH_FAILURES);
        time = g.histogram(MODEL_PUBLISH_TIME_MS, new DescriptiveStatisticsHistogram(TrainerMetrics.WINDOW));
        g.gauge(PUBLISHED_MODEL_VERSION, () -> version);
        g.gauge(PUBLISHED_MODEL_BYTES, () -> bytes);
    }

    /** Registers the publisher's metrics under {@code operator}'s {@value MetricNames#GROUP} group. */
    public static PublishMetrics register(MetricGroup operator) {
        return new PublishMetrics(operator);
    }

    /** Records a publication of model {@code version} ({@code bytes} long) that took {@code nanos}. */
    public void onPublish(long version, long bytes, long nanos) {
        this.version = version;
        this.bytes = bytes;
        publishes.inc();
        time.update(Math.round(nanos / 1e6));
    }

    /** Records a failed publication. */
    public void onFailure() {
        failures.inc();
    }
}
