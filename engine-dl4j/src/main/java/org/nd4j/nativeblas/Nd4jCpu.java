package org.nd4j.nativeblas;

/**
 * Compatibility shim that lets DL4J 1.0.0-M2.1 use its oneDNN layer helpers at all.
 *
 * <p>Why it exists: {@code org.deeplearning4j.nn.layers.mkldnn.BaseMKLDNNHelper.mklDnnEnabled()} looks up the class
 * {@code org.nd4j.nativeblas.Nd4jCpu$Environment} by name and calls {@code getInstance().isUseMKLDNN()}. In M2.1 that
 * binding moved to {@code org.nd4j.linalg.cpu.nativecpu.bindings.Nd4jCpu$Environment} and the method was renamed
 * {@code isUseONEDNN()}, so the lookup fails, the check answers false for the rest of the JVM, and every convolution
 * and BatchNorm layer silently runs on the slow built-in path (about 7x slower for WRN-16-4 on CPU). This class
 * restores the old name and delegates to the real binding. Remove it when DL4J fixes the lookup.
 */
public final class Nd4jCpu {
    private Nd4jCpu() {}

    /** The old name of the native environment, as DL4J's helper check expects it. */
    public static final class Environment {
        private static final Environment INSTANCE = new Environment();

        private Environment() {}

        /** The singleton, like the native binding's {@code getInstance()}. */
        public static Environment getInstance() {
            return INSTANCE;
        }

        /** Whether the loaded native library uses oneDNN (the renamed {@code isUseONEDNN()}). */
        public boolean isUseMKLDNN() {
            return org.nd4j.linalg.cpu.nativecpu.bindings.Nd4jCpu.Environment.getInstance().isUseONEDNN();
        }
    }
}
