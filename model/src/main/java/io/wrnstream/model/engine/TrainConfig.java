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
 * @param engine numeric engine name: {@code dl4j} (default) or {@code libtorch}
 * @param precision {@code fp32} (default); {@code bf16} with the libtorch engine (autocast, fp32 master weights)
 * @param data description of the training data, for provenance (may be empty)
 */
public record TrainConfig(WrnConfig wrn, OptimConfig optim, int batchSize, long seed, String engine, String precision, String data) {

    public static final int PAPER_BATCH = 128;
    /** Engine names accepted by {@link #engine()}. */
    public static final java.util.List<String> ENGINES = java.util.List.of("dl4j", "libtorch");

    public TrainConfig {
        Objects.requireNonNull(wrn, "wrn");
        Objects.requireNonNull(optim, "optim");
        if (batchSize < 1) {
            throw new IllegalArgumentException("Invalid value " + batchSize + " for train.batch-size: must be >= 1 (paper: 128)");
        }
        engine = engine == null ? "dl4j" : engine;
        precision = precision == null ? "fp32" : precision;
        checkEngine(engine, precision);
        data = data == null ? "" : data;
    }

    /** The paper's recipe (batch 128, seed 42) for the given model. */
    public static TrainConfig paper(WrnConfig wrn) {
        return new TrainConfig(wrn, OptimConfig.paper(), PAPER_BATCH, 42L, "dl4j", "fp32", "");
    }

    /**
     * Checks an engine name and a precision for it.
     *
     * @throws IllegalArgumentException naming the setting, the bad value and what is allowed
     */
    public static void checkEngine(String engine, String precision) {
        if (!ENGINES.contains(engine)) {
            throw new IllegalArgumentException("Invalid value '" + engine + "' for engine: must be one of " + ENGINES);
        }
        java.util.List<String> precisions = precisions(engine);
        if (!precisions.contains(precision)) {
            throw new IllegalArgumentException("Invalid value '" + precision + "' for precision: must be one of " + precisions
                    + " with engine " + engine);
        }
    }

    /** The precisions {@code engine} trains in: DL4J fp32 only (it refuses bf16 training on CPU), libtorch fp32 and bf16. */
    public static java.util.List<String> precisions(String engine) {
        return "libtorch".equals(engine) ? java.util.List.of("fp32", "bf16") : java.util.List.of("fp32");
    }

    /** This config on another engine and precision (the model, optimiser and seed stay). */
    public TrainConfig withEngine(String e, String p) {
        return new TrainConfig(wrn, optim, batchSize, seed, e, p, data);
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
