package io.wrnstream.jobs.metrics;

import static io.wrnstream.jobs.metrics.MetricNames.*;

import io.wrnstream.kafka.format.RecordFormatException.Reason;
import java.util.EnumMap;
import java.util.Map;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;

/**
 * The decoder's counters: accepted images, and dead letters with their reason as a label
 * ({@code flink_taskmanager_job_task_operator_wrn_reason_deadLetters{reason="BAD_SHAPE"}}). Every reason is
 * registered up front, so a rate of zero is a real zero rather than a missing series.
 */
public final class DeadLetterMetrics {
    private final Counter decoded;
    private final Map<Reason, Counter> deadLetters = new EnumMap<>(Reason.class);

    private DeadLetterMetrics(MetricGroup operator) {
        MetricGroup g = operator.addGroup(GROUP);
        decoded = g.counter(DECODED_IMAGES);
        for (Reason r : Reason.values()) deadLetters.put(r, g.addGroup(REASON, r.name()).counter(DEAD_LETTERS));
    }

    /** Registers the decoder's counters under {@code operator}'s {@value MetricNames#GROUP} group. */
    public static DeadLetterMetrics register(MetricGroup operator) {
        return new DeadLetterMetrics(operator);
    }

    /** Counts an accepted image. */
    public void decoded() {
        decoded.inc();
    }

    /** Counts a record sent to the dead-letter topic for {@code reason}. */
    public void deadLetter(Reason reason) {
        deadLetters.get(reason).inc();
    }
}
