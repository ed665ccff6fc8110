package io.wrnstream.model.engine;

import java.util.Objects;

/**
 * How an engine runs, as opposed to what it trains ({@link TrainConfig}): the device and the compute threads.
 * Explicit options instead of system properties, so two engines in one process can differ.
 *
 * @param device {@code auto} (a GPU when the engine has a usable one, else the CPU), {@code cpu}, {@code cuda} or
 *               {@code cuda:N}; an engine that cannot use the GPU asked for refuses it with the reason
 * @param threads intra-op compute threads, {@code >= 1}, or {@code 0} for the engine's default
 * @param cpuFastPath DL4J only: the oneDNN native build and layer helpers (on by default; off to compare)
 */
public record EngineOptions(String device, int threads, boolean cpuFastPath) {

    /** Device {@code auto}, the engine's default thread count, fast path on. */
    public static final EngineOptions DEFAULT = new EngineOptions("auto", 0, true);

    public EngineOptions {
        Objects.requireNonNull(device, "device");
        if (!device.matches("auto|cpu|cuda(:\\d{1,2})?")) {
            throw new IllegalArgumentException("Invalid value '" + device + "' for device: must be auto, cpu, cuda or cuda:N");
        }
        if (threads < 0) {
            throw new IllegalArgumentException("Invalid value " + threads + " for threads: must be >= 0 (0: the engine's default)");
        }
    }

    /** Whether a CUDA device is asked for. */
    public boolean cuda() {
        return device.startsWith("cuda");
    }

    /** The CUDA device index asked for (0 for plain {@code cuda}); -1 on the CPU. */
    public int cudaIndex() {
        if (!cuda()) return -1;
        int colon = device.indexOf(':');
        return colon < 0 ? 0 : Integer.parseInt(device.substring(colon + 1));
    }

    public EngineOptions withDevice(String d) {
        return new EngineOptions(d, threads, cpuFastPath);
    }

    public EngineOptions withThreads(int t) {
        return new EngineOptions(device, t, cpuFastPath);
    }

    public EngineOptions withCpuFastPath(boolean on) {
        return new EngineOptions(device, threads, on);
    }
}
