package io.wrnstream.kafka.update;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Objects;

/**
 * A model-update event, as published (JSON, one object) to the compacted model-updates topic with key
 * {@link #modelId()}: a new model is in the store at {@link #location()}.
 *
 * <p>JSON schema, format {@value #FORMAT}:
 * <pre>
 * {"format":1, "model_id":"wrn-16-4", "version":3, "step":1500, "images_seen":192000, "epochs":3.84,
 *  "test_error":0.2312, "test_error_step":1000, "location":"file:///tmp/wrn-stream/models/wrn-16-4/v000003-...wrnm",
 *  "sha256":"9f2c...", "size":11012345, "checkpoint":12, "wall_ms":1764240000000}
 * </pre>
 * {@code test_error} is the latest evaluation known when the model was published (of the model at
 * {@code test_error_step}, usually an earlier one), or null when none is known yet; {@code checkpoint} is -1 for the
 * final model of a bounded run. {@code sha256} and {@code size} are of the whole file.
 *
 * @param modelId id of the model (the record key)
 * @param version 1, 2, 3... without gaps over the committed events of a job, increasing with {@code step}
 * @param step training steps of the model
 * @param imagesSeen training images of the model
 * @param epochs fractional epochs of the model
 * @param testError latest known test error, or null
 * @param testErrorStep step of the model that {@code testError} was measured on, or null
 * @param location URI of the model file
 * @param sha256 hex SHA-256 of the file
 * @param size bytes of the file
 * @param checkpointId the checkpoint the model belongs to, -1 for the final model
 * @param wallMs when the file was written, epoch millis
 */
public record ModelUpdate(String modelId, long version, long step, long imagesSeen, double epochs, Double testError, Long testErrorStep,
                          String location, String sha256, long size, long checkpointId, long wallMs) {
    /** Version of the JSON layout written by this code. */
    public static final int FORMAT = 1;

    private static final ObjectMapper JSON = new ObjectMapper();

    public ModelUpdate {
        Objects.requireNonNull(modelId, "modelId");
        Objects.requireNonNull(location, "location");
        Objects.requireNonNull(sha256, "sha256");
    }

    /** One JSON object on one line. */
    public String toJson() {
        ObjectNode n = JSON.createObjectNode();
        n.put("format", FORMAT).put("model_id", modelId).put("version", version).put("step", step).put("images_seen", imagesSeen)
                .put("epochs", Math.round(epochs * 10_000) / 10_000.0);
        if (testError == null) n.putNull("test_error"); else n.put("test_error", testError);
        if (testErrorStep == null) n.putNull("test_error_step"); else n.put("test_error_step", testErrorStep);
        n.put("location", location).put("sha256", sha256).put("size", size).put("checkpoint", checkpointId).put("wall_ms", wallMs);
        return n.toString();
    }

    /**
     * Parses {@link #toJson()} output.
     *
     * @throws IllegalArgumentException when it is not JSON, lacks a field or has an unknown format
     */
    public static ModelUpdate fromJson(String json) {
        JsonNode n;
        try {
            n = JSON.readTree(json);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("Invalid model-update event: not JSON: " + e.getOriginalMessage());
        }
        if (n == null || !n.isObject()) throw new IllegalArgumentException("Invalid model-update event: not a JSON object");
        int format = required(n, "format").asInt();
        if (format != FORMAT) {
            throw new IllegalArgumentException("Unsupported model-update event format " + format + ": this build reads format " + FORMAT);
        }
        JsonNode te = n.get("test_error");
        JsonNode tes = n.get("test_error_step");
        return new ModelUpdate(required(n, "model_id").asText(), required(n, "version").asLong(), required(n, "step").asLong(),
                required(n, "images_seen").asLong(), required(n, "epochs").asDouble(),
                te == null || te.isNull() ? null : te.asDouble(), tes == null || tes.isNull() ? null : tes.asLong(),
                required(n, "location").asText(), required(n, "sha256").asText(), required(n, "size").asLong(),
                required(n, "checkpoint").asLong(), required(n, "wall_ms").asLong());
    }

    private static JsonNode required(JsonNode n, String field) {
        JsonNode v = n.get(field);
        if (v == null || v.isNull()) throw new IllegalArgumentException("Invalid model-update event: field '" + field + "' is missing");
        return v;
    }
}
