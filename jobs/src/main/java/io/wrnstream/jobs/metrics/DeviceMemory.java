package io.wrnstream.jobs.metrics;

import static io.wrnstream.jobs.metrics.MetricNames.DEVICE_MEMORY_TOTAL_BYTES;
import static io.wrnstream.jobs.metrics.MetricNames.DEVICE_MEMORY_USED_BYTES;

import org.apache.flink.metrics.MetricGroup;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.nativeblas.NativeOps;
import org.nd4j.nativeblas.NativeOpsHolder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * GPU memory gauges of the device the trainer's thread uses. This is the one place outside the engine that asks ND4J
 * about its backend, and only to observe it: on the CPU backend nothing is registered (the metrics would be
 * meaningless), so {@link MetricNames#GPU_ONLY} lists the names that exist on a GPU alone.
 */
final class DeviceMemory {
    private static final Logger LOG = LoggerFactory.getLogger(DeviceMemory.class);

    private DeviceMemory() {}

    /** Registers the device memory gauges under {@code group} when ND4J's CUDA backend is loaded; returns whether it did. */
    static boolean registerIfCuda(MetricGroup group) {
        if (Nd4j.getEnvironment().isCPU()) return false;
        int device = Nd4j.getAffinityManager().getDeviceForCurrentThread();
        NativeOps ops = NativeOpsHolder.getInstance().getDeviceNativeOps();
        group.gauge(DEVICE_MEMORY_TOTAL_BYTES, () -> ops.getDeviceTotalMemory(device));
        group.gauge(DEVICE_MEMORY_USED_BYTES, () -> ops.getDeviceTotalMemory(device) - ops.getDeviceFreeMemory(device));
        LOG.info("CUDA backend: reporting memory of device {} as {} and {}", device, DEVICE_MEMORY_USED_BYTES, DEVICE_MEMORY_TOTAL_BYTES);
        return true;
    }
}
