package io.wrnstream.jobs.eval;

import io.wrnstream.jobs.publish.Json;
import java.util.Locale;
import java.util.Map;

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

    /** One JSON object on one line: {@code {"step":..,"images_seen":..,"epochs":..,"test_error":..,...}}. */
    public String toJson() {
        return String.format(Locale.ROOT, "{\"step\":%d,\"images_seen\":%d,\"epochs\":%.4f,\"test_error\":%.6f,\"test_loss\":%s,"
                        + "\"images\":%d,\"model_version\":%d,\"wall_ms\":%d,\"eval_ms\":%d}", step, imagesSeen, epochs, testError,
                Double.isFinite(testLoss) ? String.format(Locale.ROOT, "%.6f", testLoss) : "null", images, modelVersion, wallMs, evalMs);
    }

    /** Parses {@link #toJson()} output. */
    public static Evaluation fromJson(String json) {
        Map<String, String> m = Json.flat(json);
        return new Evaluation(Long.parseLong(m.get("model_version")), Long.parseLong(m.get("step")), Long.parseLong(m.get("images_seen")),
                Json.dbl(m.get("epochs")), Json.dbl(m.get("test_error")), Json.dbl(m.get("test_loss")), Long.parseLong(m.get("images")),
                Long.parseLong(m.get("wall_ms")), Long.parseLong(m.get("eval_ms")));
    }
}
