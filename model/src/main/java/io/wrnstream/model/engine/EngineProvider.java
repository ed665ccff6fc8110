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

    /** The precisions this engine trains in ({@code fp32} first): those {@link TrainConfig#precisions(String)} allows it. */
    default List<String> precisions() {
        return TrainConfig.precisions(name());
    }

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

    /**
     * Joins the data-parallel group {@code spec} describes, blocking until all {@code spec.size()} ranks have joined or
     * {@code spec.timeout()} passed. Rank 0 hosts the group's store first and reports its address to {@code hosted}
     * (for example to publish it where the other ranks look), before it waits for them.
     *
     * @throws UnsupportedOperationException when this engine trains with one rank only
     */
    default ProcessGroup openGroup(GroupSpec spec, java.util.function.Consumer<java.net.InetSocketAddress> hosted) {
        throw new UnsupportedOperationException("The " + name() + " engine trains with one rank only: trainer.parallelism "
                + spec.size() + " needs engine=libtorch (or set trainer.parallelism=1)");
    }

    /** As {@link #openGroup(GroupSpec, java.util.function.Consumer)} for engines on the device {@code options} names. */
    default ProcessGroup openGroup(GroupSpec spec, EngineOptions options, java.util.function.Consumer<java.net.InetSocketAddress> hosted) {
        return openGroup(spec, hosted);
    }

    /** Facts about the loaded runtime for benchmark records, for example {@code onednn: true}; empty by default. */
    default java.util.Map<String, Object> runtimeFacts() {
        return java.util.Map.of();
    }

    /** One line on the engine's runtime (native build, device, threads) for logs and benchmark output. */
    default String describeRuntime() {
        return name();
    }
}
