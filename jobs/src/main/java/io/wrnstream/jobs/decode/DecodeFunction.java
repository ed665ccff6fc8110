package io.wrnstream.jobs.decode;

import io.wrnstream.jobs.metrics.DeadLetterMetrics;
import io.wrnstream.kafka.format.RecordFormatException;
import io.wrnstream.kafka.format.RecordFormatException.Reason;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decodes and validates training records: Kafka value -> {@link LabelledImage}, by the rules of
 * {@link TrainingRecords}. A record that breaks one goes to {@link #DEAD_LETTERS} with its reason, and so does one
 * whose decoding fails in any other way (any exception; only an {@link Error} passes), counted in
 * {@link DeadLetterMetrics} by reason: the job never fails on data.
 */
public final class DecodeFunction extends ProcessFunction<KafkaImage, LabelledImage> {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(DecodeFunction.class);

    /** Side output of the records that could not be used. */
    public static final OutputTag<DeadLetter> DEAD_LETTERS = new OutputTag<>("dead-letters") {};

    private final int classes;
    private final int channels;
    private final int height;
    private final int width;
    private transient TrainingRecords rules;
    private transient DeadLetterMetrics metrics;

    /** Accepts images of shape {@code channels x height x width} with labels in {@code [0, classes)}. */
    public DecodeFunction(int classes, int channels, int height, int width) {
        this.classes = classes;
        this.channels = channels;
        this.height = height;
        this.width = width;
    }

    @Override
    public void open(OpenContext ctx) {
        rules = new TrainingRecords(classes, channels, height, width);
        metrics = DeadLetterMetrics.register(getRuntimeContext().getMetricGroup());
    }

    @Override
    public void processElement(KafkaImage in, Context ctx, Collector<LabelledImage> out) {
        LabelledImage image;
        try {
            image = rules.decode(in);
        } catch (RecordFormatException e) {
            deadLetter(in, ctx, e.reason(), e.getMessage());
            return;
        } catch (Exception e) { // a decoder bug or an unforeseen input: one record's problem, never the job's
            LOG.warn("Decoding {} failed unexpectedly; sent to the dead-letter topic", in, e);
            deadLetter(in, ctx, Reason.DECODE_FAILED, e.getClass().getName() + (e.getMessage() == null ? "" : ": " + e.getMessage()));
            return;
        }
        metrics.decoded();
        out.collect(image);
    }

    private void deadLetter(KafkaImage in, Context ctx, Reason reason, String detail) {
        metrics.deadLetter(reason);
        ctx.output(DEAD_LETTERS, TrainingRecords.deadLetter(in, reason.name(), detail));
    }
}
