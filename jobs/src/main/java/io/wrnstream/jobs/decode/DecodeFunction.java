package io.wrnstream.jobs.decode;

import io.wrnstream.kafka.format.ImageRecord;
import io.wrnstream.kafka.format.ImageRecordSerde;
import io.wrnstream.kafka.format.RecordFormatException;
import io.wrnstream.kafka.format.RecordFormatException.Reason;
import io.wrnstream.jobs.metrics.DeadLetterMetrics;
import io.wrnstream.model.data.Sample;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * Decodes and validates training records: Kafka value -> {@link LabelledImage}. A record that is empty, not an image
 * record, of an unknown format version, undecodable, of another shape than the job trains on, or labelled outside
 * the classes goes to {@link #DEAD_LETTERS} with its reason, and counts it in {@link DeadLetterMetrics} by reason;
 * the job never fails on data.
 */
public final class DecodeFunction extends ProcessFunction<KafkaImage, LabelledImage> {
    private static final long serialVersionUID = 1L;

    /** Side output of the records that could not be used. */
    public static final OutputTag<DeadLetter> DEAD_LETTERS = new OutputTag<>("dead-letters") {};

    private final int classes;
    private final int channels;
    private final int height;
    private final int width;
    private transient ImageRecordSerde serde;
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
        serde = new ImageRecordSerde(classes);
        metrics = DeadLetterMetrics.register(getRuntimeContext().getMetricGroup());
    }

    @Override
    public void processElement(KafkaImage in, Context ctx, Collector<LabelledImage> out) {
        try {
            ImageRecord record = serde.decode(in.key(), in.value());
            Sample s = record.toSample();
            if (s.channels() != channels || s.height() != height || s.width() != width) {
                throw new RecordFormatException(Reason.BAD_SHAPE, "Image " + s.id() + " is " + s.channels() + "x" + s.height() + "x"
                        + s.width() + " but the job trains on " + channels + "x" + height + "x" + width + " (input.shape)");
            }
            metrics.decoded();
            out.collect(LabelledImage.of(s, record.epoch()));
        } catch (RecordFormatException e) {
            metrics.deadLetter(e.reason());
            ctx.output(DEAD_LETTERS, new DeadLetter(in.key(), in.value(), e.reason().name(), e.getMessage(), in.topic(),
                    in.partition(), in.offset()));
        }
    }
}
