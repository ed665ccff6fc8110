package io.wrnstream.cli.train;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * One evaluation of an offline run (a superset of {@link io.wrnstream.cli.TrainEvaluation}, version 1), written as one JSON line ({@link #toJson()}) with a versioned {@code format} field.
 * {@code train} leaves the experiment fields out; {@code reproduce} names the experiment, the arm and whether the run
 * is a reduced-budget miniature of the paper's protocol.
 *
 * <pre>{"format":"wrn-stream.train-eval/2","experiment":"dropout","arm":"wrn-40-1","protocol":"miniature (5 of 200 epochs)",
 *  "step":1955,"images_seen":250000,"epochs":5.0,"train_loss":0.61,"lr":0.004,"test_error":0.21,"test_loss":0.64,
 *  "test_images":10000,"eval_seconds":9.1,"elapsed_seconds":1550.2,"wall_ms":1764629000000}</pre>
 *
 * @param format {@link #FORMAT}
 * @param experiment experiment name, or null outside {@code reproduce}
 * @param arm arm name, or null outside {@code reproduce}
 * @param protocol {@code paper} or {@code miniature (...)}, or null outside {@code reproduce}
 * @param step training steps
 * @param imagesSeen training images seen
 * @param epochs fractional epochs
 * @param trainLoss mean training loss of the steps since the previous evaluation (null, left out, when none)
 * @param lr learning rate of the last step
 * @param testError top-1 test error in [0, 1]
 * @param testLoss mean test cross-entropy
 * @param testImages held-out images evaluated
 * @param evalSeconds time the evaluation took
 * @param elapsedSeconds training time of the run so far, over every session of a resumed run
 * @param wallMs wall clock at the evaluation, epoch millis
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record EvalRecord(String format, String experiment, String arm, String protocol, long step,
                         @JsonProperty("images_seen") long imagesSeen, double epochs, @JsonProperty("train_loss") Double trainLoss,
                         double lr, @JsonProperty("test_error") double testError, @JsonProperty("test_loss") double testLoss,
                         @JsonProperty("test_images") long testImages, @JsonProperty("eval_seconds") double evalSeconds,
                         @JsonProperty("elapsed_seconds") double elapsedSeconds, @JsonProperty("wall_ms") long wallMs) {

    /** The format of these lines; a reader refuses any other. */
    public static final String FORMAT = "wrn-stream.train-eval/2";
    private static final ObjectMapper JSON = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    public EvalRecord {
        if (trainLoss != null && !Double.isFinite(trainLoss)) trainLoss = null;
    }

    /** This record under an experiment's arm. */
    public EvalRecord inArm(String experimentName, String armName, String protocolText) {
        return new EvalRecord(format, experimentName, armName, protocolText, step, imagesSeen, epochs, trainLoss, lr, testError, testLoss,
                testImages, evalSeconds, elapsedSeconds, wallMs);
    }

    /** One JSON line (no newline). */
    public String toJson() {
        try {
            return JSON.writeValueAsString(this);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("Cannot write an evaluation line", e);
        }
    }

    /**
     * Parses one line.
     *
     * @throws IllegalArgumentException if it is not such a line or has another format, naming it
     */
    public static EvalRecord parse(String line) {
        EvalRecord r;
        try {
            r = JSON.readValue(line, EvalRecord.class);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("Not an evaluation line (" + e.getOriginalMessage() + "): " + line, e);
        }
        if (!FORMAT.equals(r.format())) {
            throw new IllegalArgumentException("Unknown evaluation line format '" + r.format() + "': this version reads " + FORMAT);
        }
        return r;
    }
}
