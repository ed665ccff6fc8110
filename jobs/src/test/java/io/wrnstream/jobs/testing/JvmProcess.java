package io.wrnstream.jobs.testing;

import io.wrnstream.embedded.EmbeddedKafka;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;

/** Parts of a fault test that run in their own JVM, on this test's classpath: a Kafka broker, a local training job. */
public final class JvmProcess {
    private JvmProcess() {}

    /** Starts {@code mainClass} with {@code args} in a new JVM with {@code -Xmx}, output to {@code log}. */
    public static Process start(String xmx, Path log, Class<?> mainClass, String... args) throws Exception {
        return start(List.of("-Xmx" + xmx), log, mainClass, args);
    }

    /** Starts {@code mainClass} with {@code args} in a new JVM with the options {@code jvmOptions}, output to {@code log}. */
    public static Process start(List<String> jvmOptions, Path log, Class<?> mainClass, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        cmd.addAll(jvmOptions);
        // The test JVM's logging (Flink's test jars would otherwise silence the child through their log4j2-test.properties).
        String logConfig = System.getProperty("log4j2.configurationFile");
        if (logConfig != null) cmd.add("-Dlog4j2.configurationFile=" + logConfig);
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), mainClass.getName()));
        cmd.addAll(List.of(args));
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }

    /** A broker ({@link EmbeddedKafka#main}) on {@code logDir} and fixed ports; returns once it answers. */
    public static Process broker(Path logDir, int brokerPort, int controllerPort) throws Exception {
        Process p = start("512m", logDir.resolveSibling("broker-" + System.nanoTime() + ".log"), EmbeddedKafka.class,
                logDir.toString(), String.valueOf(brokerPort), String.valueOf(controllerPort));
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", "127.0.0.1:" + brokerPort, "default.api.timeout.ms", 60_000))) {
            admin.describeCluster().nodes().get(90, TimeUnit.SECONDS);
        }
        return p;
    }

    /**
     * A fresh folder {@code target/fault-logs/<test>} (under the module's folder, where Maven runs the tests) for the
     * logs of a fault test's JVMs, kept after the test so that a failure can be read.
     */
    public static Path logFolder(Class<?> test) throws java.io.IOException {
        Path d = Path.of("target", "fault-logs", test.getSimpleName()).toAbsolutePath();
        if (java.nio.file.Files.exists(d)) {
            try (var files = java.nio.file.Files.walk(d)) {
                for (Path f : files.sorted(java.util.Comparator.reverseOrder()).toList()) java.nio.file.Files.delete(f);
            }
        }
        return java.nio.file.Files.createDirectories(d);
    }

    /** A free TCP port. */
    public static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
