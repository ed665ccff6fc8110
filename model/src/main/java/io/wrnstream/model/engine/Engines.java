package io.wrnstream.model.engine;

/** Builds and restores {@link TrainingEngine}s by engine name. */
public final class Engines {
    private Engines() {}

    /** A fresh engine for {@code config}, parameters initialised from {@code config.seed()}. */
    public static TrainingEngine create(TrainConfig config) {
        return Dl4jEngine.create(config);
    }

    /** An engine restored from {@link TrainingEngine#snapshot()} bytes; fails naming the version if unknown. */
    public static TrainingEngine restore(byte[] snapshot) {
        return Dl4jEngine.restore(EngineState.fromBytes(snapshot));
    }
}
