package io.wrnstream.model.cli;

import io.wrnstream.model.cpu.CpuFastPath;
import io.wrnstream.model.engine.LibtorchEngine;
import org.nd4j.linalg.factory.Nd4j;

/** Process-wide numeric runtime set-up for the CLI: the CPU fast path switch and the compute thread count of the engine used. */
final class EngineRuntime {
    private EngineRuntime() {}

    /**
     * Must run before anything touches ND4J: the fast path picks the native binary when ND4J loads.
     *
     * @param fastPath oneDNN binary and DL4J layer helpers on (the default) or off (the plain binary, for comparison)
     * @param engine {@code dl4j} or {@code libtorch}: only that engine's runtime is set up
     * @param threads compute threads the engine may use
     */
    static void init(String engine, boolean fastPath, int threads) {
        if ("worker".equals(engine)) {
            // the worker process sets PyTorch's threads; neither ND4J nor libtorch loads in this JVM
            System.setProperty(io.wrnstream.model.engine.WorkerEngine.THREADS_PROPERTY, Integer.toString(threads));
            return;
        }
        if ("libtorch".equals(engine)) {
            LibtorchEngine.setThreads(threads);  // ND4J is not loaded at all
            return;
        }
        System.setProperty(CpuFastPath.SWITCH, Boolean.toString(fastPath));
        CpuFastPath.enable();
        Nd4j.getEnvironment().setMaxMasterThreads(threads);
        Nd4j.getEnvironment().setMaxThreads(threads);
    }
}
