package io.wrnstream.model.engine;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.TreeMap;

/**
 * Builds and restores {@link TrainingEngine}s by engine name ({@code TrainConfig.engine()}), from the
 * {@link EngineProvider}s on the classpath ({@link ServiceLoader}). Every engine writes the same snapshot layout
 * ({@link ParamLayout}), so a snapshot of one can be restored on another with {@link #restore(byte[], String, String)}.
 *
 * <p>Asking for an engine that is not on the classpath fails naming the engines that are.
 */
public final class Engines {
    /** The engine a new user gets: libtorch is the fastest here (see the README's engine table). */
    public static final String DEFAULT_ENGINE = "libtorch";

    private static final Map<String, EngineProvider> PROVIDERS = load();

    private Engines() {}

    private static Map<String, EngineProvider> load() {
        Map<String, EngineProvider> byName = new TreeMap<>();
        for (EngineProvider p : ServiceLoader.load(EngineProvider.class, Engines.class.getClassLoader())) {
            byName.putIfAbsent(p.name(), p);
        }
        return Map.copyOf(byName);
    }

    /** Names of the engines on the classpath, sorted. */
    public static List<String> available() {
        return new ArrayList<>(new TreeMap<>(PROVIDERS).keySet());
    }

    /** Whether {@code engine} is on the classpath. */
    public static boolean isAvailable(String engine) {
        return PROVIDERS.containsKey(engine);
    }

    /**
     * The provider of {@code engine}.
     *
     * @throws IllegalArgumentException naming the engines on the classpath if {@code engine} is not one of them
     */
    public static EngineProvider provider(String engine) {
        EngineProvider p = PROVIDERS.get(engine);
        if (p == null) {
            throw new IllegalArgumentException("Invalid value '" + engine + "' for engine: "
                    + (TrainConfig.ENGINES.contains(engine) ? "its module is not on the classpath" : "unknown engine")
                    + "; engines on the classpath: " + (PROVIDERS.isEmpty() ? "none" : available()));
        }
        return p;
    }

    /** A fresh engine for {@code config} on the CPU with default threads. */
    public static TrainingEngine create(TrainConfig config) {
        return create(config, EngineOptions.DEFAULT);
    }

    /** A fresh engine for {@code config}, parameters initialised from {@code config.seed()}. */
    public static TrainingEngine create(TrainConfig config, EngineOptions options) {
        return provider(config.engine()).create(config, options);
    }

    /** An engine restored from {@link TrainingEngine#snapshot()} bytes, on the engine that wrote them; fails naming the version if unknown. */
    public static TrainingEngine restore(byte[] snapshot) {
        return restore(EngineState.fromBytes(snapshot), EngineOptions.DEFAULT);
    }

    /** As {@link #restore(byte[])}, on the given device and threads. */
    public static TrainingEngine restore(byte[] snapshot, EngineOptions options) {
        return restore(EngineState.fromBytes(snapshot), options);
    }

    /**
     * An engine restored from snapshot bytes of any engine onto {@code engine} in {@code precision}: to serve or
     * continue a model trained by another engine. Parameters carry over exactly; the momentum converts exactly
     * while the learning rate is constant (see {@link ParamLayout}).
     *
     * @throws IllegalArgumentException if the engine or precision is not allowed (named as in {@link TrainConfig})
     */
    public static TrainingEngine restore(byte[] snapshot, String engine, String precision) {
        EngineState s = EngineState.fromBytes(snapshot);
        TrainConfig c = s.config().withEngine(engine, precision);
        return restore(s.withConfig(c), EngineOptions.DEFAULT);
    }

    /** An engine restored from a decoded snapshot, on the engine its config names. */
    public static TrainingEngine restore(EngineState state, EngineOptions options) {
        return provider(state.config().engine()).restore(state, options);
    }

    /**
     * A model for predictions only, from snapshot bytes of any engine: what a serving process holds. It runs on
     * {@link #DEFAULT_ENGINE} when that is on the classpath, else on the engine that wrote the snapshot, in fp32
     * (served probabilities do not depend on the machine's bf16 support).
     *
     * @throws IllegalArgumentException if the bytes are not a snapshot, or no engine that can run it is on the classpath
     */
    public static Predictor predictor(byte[] snapshot) {
        EngineState s = EngineState.fromBytes(snapshot);
        String engine = isAvailable(DEFAULT_ENGINE) ? DEFAULT_ENGINE : s.config().engine();
        return predictor(s, engine, EngineOptions.DEFAULT);
    }

    /** A model for predictions only on {@code engine} in fp32, from a decoded snapshot of any engine. */
    public static Predictor predictor(EngineState state, String engine, EngineOptions options) {
        return provider(engine).restore(state.withConfig(state.config().withEngine(engine, "fp32")), options);
    }
}
