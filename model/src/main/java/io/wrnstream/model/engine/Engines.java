package io.wrnstream.model.engine;

/**
 * Builds and restores {@link TrainingEngine}s by engine name ({@code TrainConfig.engine()}: {@code dl4j},
 * {@code libtorch} or {@code worker}). All engines write the same snapshot layout ({@link ParamLayout}), so a snapshot of one can be
 * restored on the other with {@link #restore(byte[], String, String)}.
 */
public final class Engines {
    private Engines() {}

    /** A fresh engine for {@code config}, parameters initialised from {@code config.seed()}. */
    public static TrainingEngine create(TrainConfig config) {
        return switch (config.engine()) {
            case "libtorch" -> LibtorchEngine.create(config);
            case "worker" -> WorkerEngine.create(config);
            default -> Dl4jEngine.create(config);
        };
    }

    /** An engine restored from {@link TrainingEngine#snapshot()} bytes, on the engine that wrote them; fails naming the version if unknown. */
    public static TrainingEngine restore(byte[] snapshot) {
        return restore(EngineState.fromBytes(snapshot));
    }

    /**
     * An engine restored from snapshot bytes of either engine onto {@code engine} in {@code precision}: to serve or
     * continue a model trained by the other engine. Parameters carry over exactly; the momentum converts exactly
     * while the learning rate is constant (see {@link ParamLayout}).
     *
     * @throws IllegalArgumentException if the engine or precision is not allowed (named as in {@link TrainConfig})
     */
    public static TrainingEngine restore(byte[] snapshot, String engine, String precision) {
        EngineState s = EngineState.fromBytes(snapshot);
        TrainConfig c = s.config().withEngine(engine, precision);
        return restore(new EngineState(c, s.step(), s.imagesSeen(), s.params(), s.updater()));
    }

    static TrainingEngine restore(EngineState state) {
        return switch (state.config().engine()) {
            case "libtorch" -> LibtorchEngine.restore(state);
            case "worker" -> WorkerEngine.restore(state);
            default -> Dl4jEngine.restore(state);
        };
    }
}
