package io.wrnstream.cli.reproduce;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/** The machine a run is on, in one line for reports: CPU model, cores, memory and load. */
final class Machine {
    private Machine() {}

    static String describe() {
        String cpu = "unknown CPU";
        try {
            for (String l : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (l.startsWith("model name")) {
                    cpu = l.substring(l.indexOf(':') + 1).trim();
                    break;
                }
            }
        } catch (IOException | RuntimeException e) {
            // No /proc/cpuinfo (not Linux): the CPU stays unnamed.
        }
        double load = java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
        long memGb = Math.round(Runtime.getRuntime().maxMemory() / 1e9);
        return String.format(Locale.ROOT, "%s, %d cores, JVM heap %d GB, load average %s at the report", cpu,
                Runtime.getRuntime().availableProcessors(), memGb, load >= 0 ? String.format(Locale.ROOT, "%.1f", load) : "n/a");
    }
}
