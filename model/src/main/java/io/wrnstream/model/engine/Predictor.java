package io.wrnstream.model.engine;

import io.wrnstream.model.wrn.WrnConfig;

/**
 * A trained model that answers predictions: the narrow interface a serving process holds
 * ({@link Engines#predictor(byte[], String)}); a {@link TrainingEngine} is one.
 */
public interface Predictor extends AutoCloseable {

    /** The model's shape (input size, classes). */
    WrnConfig model();

    /** Class probabilities for each image of the batch, in inference mode: {@code [n][classes]}. */
    float[][] predict(Batch batch);

    @Override
    void close();
}
