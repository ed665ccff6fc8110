package io.wrnstream.cli;

import io.wrnstream.model.engine.EngineOptions;
import io.wrnstream.model.engine.Engines;

/** Process-wide numeric runtime set-up for the CLI: the CPU fast path switch and the compute thread count of the engine used. */
public final class EngineRuntime {
    private EngineRuntime() {}

    /**
     * Sets up the runtime of {@code engine} only, before it is built (DL4J's fast path picks its native binary when
     * ND4J loads; libtorch's thread count is process-wide).
     *
     * @param engine an engine on the classpath ({@link Engines#available()})
     * @param fastPath DL4J's oneDNN binary and layer helpers on (the default) or off (the plain binary, for comparison)
     * @param threads compute threads the engine may use
     * @return the engine options used
     */
    public static EngineOptions init(String engine, boolean fastPath, int threads) {
        EngineOptions options = EngineOptions.DEFAULT.withThreads(threads).withCpuFastPath(fastPath);
        Engines.provider(engine).configureRuntime(options);
        return options;
    }
}
