package io.wrnstream.model.engine;

/** Memory of the GPU an engine computes on, for gauges; engines on the CPU have none ({@link TrainingEngine#deviceMemory()}). */
public interface DeviceMemory {

    /** The device, for example {@code cuda:0}. */
    String device();

    /** Total memory of the device in bytes. */
    long totalBytes();

    /** Memory in use on the device in bytes (by every process). */
    long usedBytes();
}
