package io.wrnstream.model.engine;

import io.wrnstream.model.optim.OptimConfig;
import io.wrnstream.model.wrn.WrnConfig;
import java.util.Objects;

/**
 * Everything needed to build a training engine and to reproduce a run: model shape, optimiser, batch size,
 * seed, engine and precision, plus a free-text description of the data for provenance.
 *
 * @param wrn model shape
 * @param optim optimiser and schedule
 * @param batchSize minibatch size, {@code >= 1} (paper: 128)
 * @param seed master seed; every random consumer derives its own generator from it
 * @param engine numeric engine name ({@code dl4j})
 * @param precision {@code fp32} (the only one DL4J trains in on CPU)
 * @param data description of the training data, for provenance (may be empty)
 */
public record TrainConfig(WrnConfig wrn, OptimConfig optim, int batchSize, long seed, String engine, String precision, String data) {

    public static final int PAPER_BATCH = 128;

    public TrainConfig {
        Objects.requireNonNull(wrn, "wrn");
        Objects.requireNonNull(optim, "optim");
        if (batchSize < 1) {
            throw new IllegalArgumentException("Invalid value " + batchSize + " for train.batch-size: must be >= 1 (paper: 128)");
        }
        engine = engine == null ? "dl4j" : engine;
        if (!engine.equals("dl4j")) {
            throw new IllegalArgumentException("Invalid value '" + engine + "' for engine: must be one of [dl4j]");
        }
        precision = precision == null ? "fp32" : precision;
        if (!precision.equals("fp32")) {
            throw new IllegalArgumentException("Invalid value '" + precision + "' for precision: must be one of [fp32] with engine dl4j");
        }
        data = data == null ? "" : data;
    }

    /** The paper's recipe (batch 128, seed 42) for the given model. */
    public static TrainConfig paper(WrnConfig wrn) {
        return new TrainConfig(wrn, OptimConfig.paper(), PAPER_BATCH, 42L, "dl4j", "fp32", "");
    }

    public TrainConfig withOptim(OptimConfig o) {
        return new TrainConfig(wrn, o, batchSize, seed, engine, precision, data);
    }

    public TrainConfig withBatchSize(int b) {
        return new TrainConfig(wrn, optim, b, seed, engine, precision, data);
    }

    public TrainConfig withSeed(long s) {
        return new TrainConfig(wrn, optim, batchSize, s, engine, precision, data);
    }

    public TrainConfig withData(String d) {
        return new TrainConfig(wrn, optim, batchSize, seed, engine, precision, d);
    }
}
