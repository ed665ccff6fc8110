package io.wrnstream.serve;

/**
 * What is known about a served model, as {@code GET /v1/model} shows it.
 *
 * @param modelId model id (the update's key, or the file name for {@code --model})
 * @param version published version, 0 for a model file given with {@code --model}
 * @param step training steps
 * @param imagesSeen training images seen
 * @param testError latest test error known when it was published, or null
 * @param sha256 hex SHA-256 of the model file
 * @param location where it was loaded from
 * @param size bytes of the model file
 * @param loadedAtMs when it was loaded, epoch millis
 */
public record ModelInfo(String modelId, long version, long step, long imagesSeen, Double testError, String sha256, String location,
                        long size, long loadedAtMs) {}
