package io.wrnstream.model.engine;

import java.util.List;

/**
 * A numeric engine as a service: one implementation per engine module, listed in that module's
 * {@code META-INF/services/io.wrnstream.model.engine.EngineProvider} and found by {@link Engines} through
 * {@link java.util.ServiceLoader}. A jar (or a Flink image's {@code lib/}) thus carries only the engines it needs.
 */
public interface EngineProvider {

    /** The name users select the engine by ({@code engine=...}, {@code --engine ...}): {@code libtorch}, {@code dl4j}, ... */
    String name();

    /** The precisions this engine trains in, in order of preference where no faster one applies ({@code fp32} first). */
    List<String> precisions();

    /**
     * The precision {@code auto} resolves to for this engine on this machine and device (for example bf16 where the
     * CPU or GPU computes it fast), one of {@link #precisions()}.
     */
    String defaultPrecision(EngineOptions options);

    /** Process-wide runtime set-up before the first engine is built (thread counts, native library choice). */
    default void configureRuntime(EngineOptions options) {}

    /** A fresh engine for {@code config}, parameters initialised from {@code config.seed()}. */
    TrainingEngine create(TrainConfig config, EngineOptions options);

    /** An engine that continues where the one that wrote {@code state} stopped (any engine's snapshot: one layout). */
    TrainingEngine restore(EngineState state, EngineOptions options);

    /** Facts about the loaded runtime for benchmark records, for example {@code onednn: true}; empty by default. */
    default java.util.Map<String, Object> runtimeFacts() {
        return java.util.Map.of();
    }

    /** One line on the engine's runtime (native build, device, threads) for logs and benchmark output. */
    default String describeRuntime() {
        return name();
    }
}
