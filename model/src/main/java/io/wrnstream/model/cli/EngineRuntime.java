package io.wrnstream.model.cli;

import io.wrnstream.model.cpu.CpuFastPath;
import org.nd4j.linalg.factory.Nd4j;

/** Process-wide numeric runtime set-up for the CLI: the CPU fast path switch and the compute thread count. */
final class EngineRuntime {
    private EngineRuntime() {}

    /**
     * Must run before anything touches ND4J: the fast path picks the native binary when ND4J loads.
     *
     * @param fastPath oneDNN binary and DL4J layer helpers on (the default) or off (the plain binary, for comparison)
     * @param threads compute threads ND4J may use
     */
    static void init(boolean fastPath, int threads) {
        System.setProperty(CpuFastPath.SWITCH, Boolean.toString(fastPath));
        CpuFastPath.enable();
        Nd4j.getEnvironment().setMaxMasterThreads(threads);
        Nd4j.getEnvironment().setMaxThreads(threads);
    }
}
