package io.wrnstream.kafka.update;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.wrnstream.model.io.JsonRecords;
import java.util.Objects;

/**
 * A model-update event, as published (JSON, one object) to the compacted model-updates topic with key
 * {@link #modelId()}: a new model is in the store at {@link #location()}.
 *
 * <p>JSON schema, format {@value #FORMAT}:
 * <pre>
 * {"format":"wrn-stream.model-update/1", "model_id":"wrn-16-4", "version":3, "step":1500, "images_seen":192000, "epochs":3.84,
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
                          String location, String sha256, long size, @JsonProperty("checkpoint") long checkpointId, long wallMs) {
    /** Format of the JSON layout written by this code. */
    public static final String FORMAT = "wrn-stream.model-update/1";
    /** The same layout as {@link #FORMAT}, as the first builds wrote it ({@code "format":1}); still read, never written. */
    static final int LEGACY_FORMAT = 1;

    private static final String WHAT = "model-update event";

    public ModelUpdate {
        Objects.requireNonNull(modelId, "modelId");
        Objects.requireNonNull(location, "location");
        Objects.requireNonNull(sha256, "sha256");
    }

    /** One JSON object on one line; also the canonical text that {@link UpdateSigning} signs. */
    public String toJson() {
        return JsonRecords.write(FORMAT, this);
    }

    /**
     * Parses {@link #toJson()} output. Events of the first builds ({@code "format":1}, the same layout) are read too:
     * a compacted topic keeps a model's last event for as long as no newer one replaces it.
     *
     * @throws IllegalArgumentException when it is not JSON, lacks a field or has an unknown format, naming it
     */
    public static ModelUpdate fromJson(String json) {
        ObjectNode n = JsonRecords.tree(json, WHAT);
        JsonNode f = n.get(JsonRecords.FORMAT_FIELD);
        if (f != null && f.isIntegralNumber() && f.asLong() == LEGACY_FORMAT) n.put(JsonRecords.FORMAT_FIELD, FORMAT);
        return JsonRecords.read(n, FORMAT, WHAT, ModelUpdate.class);
    }
}
