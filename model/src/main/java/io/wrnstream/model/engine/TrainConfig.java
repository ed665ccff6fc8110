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
 * @param engine numeric engine name: {@code libtorch} (default, {@link Engines#DEFAULT_ENGINE}), {@code dl4j}, or
 *               {@code worker} (the host's own PyTorch in a worker process)
 * @param precision {@code fp32} or {@code bf16} (libtorch only: autocast, fp32 master weights); {@code auto} or null picks
 *                  {@link #defaultPrecision(String)}
 * @param data description of the training data, for provenance (may be empty)
 */
public record TrainConfig(WrnConfig wrn, OptimConfig optim, int batchSize, long seed, String engine, String precision, String data) {

    public static final int PAPER_BATCH = 128;
    /** Engine names this project ships (each one a module found through {@link Engines}); accepted by {@link #engine()}. */
    public static final java.util.List<String> ENGINES = java.util.List.of("dl4j", "libtorch", "worker");

    public TrainConfig {
        Objects.requireNonNull(wrn, "wrn");
        Objects.requireNonNull(optim, "optim");
        if (batchSize < 1) {
            throw new IllegalArgumentException("Invalid value " + batchSize + " for train.batch-size: must be >= 1 (paper: 128)");
        }
        engine = engine == null ? Engines.DEFAULT_ENGINE : engine;
        precision = precision == null || AUTO.equals(precision) ? defaultPrecision(engine) : precision;
        checkEngine(engine, precision);
        data = data == null ? "" : data;
    }

    /** The paper's recipe (batch 128, seed 42) for the given model, on DL4J in fp32 (the reference the tests compare with). */
    public static TrainConfig paper(WrnConfig wrn) {
        return new TrainConfig(wrn, OptimConfig.paper(), PAPER_BATCH, io.wrnstream.model.Defaults.SEED, "dl4j", "fp32", "");
    }

    /** Precision value that asks for {@link #defaultPrecision(String)}; configs always hold the resolved value. */
    public static final String AUTO = "auto";

    /**
     * The sensible precision for {@code engine} on this machine's CPU: see {@link #defaultPrecision(String, boolean)}.
     */
    public static String defaultPrecision(String engine) {
        return defaultPrecision(engine, false);
    }

    /**
     * The sensible precision for {@code engine}: bf16 for libtorch where bf16 is fast (a CUDA device, or a CPU with
     * AVX-512-BF16 or AMX-BF16: autocast keeps fp32 master weights, so accuracy holds), else fp32. DL4J trains in
     * fp32 only.
     */
    public static String defaultPrecision(String engine, boolean cuda) {
        if (!"libtorch".equals(engine) && !"worker".equals(engine)) return "fp32";
        return cuda || cpuHasFastBf16() ? "bf16" : "fp32";
    }


    private static boolean cpuHasFastBf16() {
        try {
            for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("flags")) {
                    String flags = " " + line.substring(line.indexOf(':') + 1).trim() + " ";
                    return flags.contains(" avx512_bf16 ") || flags.contains(" amx_bf16 ");
                }
            }
        } catch (java.io.IOException | RuntimeException e) {
            // No /proc/cpuinfo: assume no fast bf16.
        }
        return false;
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
        return "libtorch".equals(engine) || "worker".equals(engine) ? java.util.List.of("fp32", "bf16") : java.util.List.of("fp32");
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
