package io.wrnstream.cli.deploy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Enumeration;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.regex.Pattern;
import org.apache.flink.annotation.docs.Documentation;
import org.apache.flink.client.cli.ClientOptions;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.CoreOptions;
import org.apache.flink.configuration.ExternalResourceOptions;
import org.apache.flink.configuration.FallbackKey;
import org.apache.flink.metrics.prometheus.PrometheusReporterFactory;
import org.apache.flink.runtime.shuffle.ShuffleServiceOptions;
import org.apache.flink.state.rocksdb.RocksDBOptions;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * The configuration keys Flink 2.2 knows, read from Flink itself rather than from a hand-written list: every
 * {@code public static ConfigOption} field of every {@code *Options} class in the Flink jars on the test classpath
 * (core, runtime, streaming, clients, RocksDB, Prometheus reporter), with their fallback and deprecated keys.
 * Keys with a user-chosen name ({@code metrics.reporter.<name>.*}, {@code external-resource.<name>.*}) are matched
 * as patterns built from those declarations (placeholders, {@code @Documentation.SuffixOption} prefixes), plus the few
 * settings Flink reads without declaring them as options (the Prometheus reporter's port, the GPU driver's
 * parameters, the per-platform external-resource config key).
 */
final class FlinkOptionKeys {
    /** Jars scanned: one class from each. */
    private static final List<Class<?>> ANCHORS = List.of(CoreOptions.class, ShuffleServiceOptions.class,
            StreamExecutionEnvironment.class, ClientOptions.class, RocksDBOptions.class, PrometheusReporterFactory.class);

    /**
     * Parameters of the GPU driver plugin (plugins/external-resource-gpu in the distribution, not a Maven
     * dependency of this project): GPUDriverOptions DISCOVERY_SCRIPT_PATH and DISCOVERY_SCRIPT_ARG.
     */
    private static final Set<String> GPU_DRIVER_PARAMS = Set.of("discovery-script.path", "discovery-script.args");

    /** What a user-chosen name (a reporter's, an external resource's) may look like. */
    private static final String NAME = "[A-Za-z0-9_-]+";

    private final Set<String> exact;
    private final List<Pattern> patterns;

    private FlinkOptionKeys(Set<String> exact, List<Pattern> patterns) {
        this.exact = Collections.unmodifiableSet(exact);
        this.patterns = List.copyOf(patterns);
    }

    /** Collects the keys from the Flink classes on the classpath. */
    static FlinkOptionKeys fromClasspath() {
        Set<String> keys = new TreeSet<>();
        for (Class<?> anchor : ANCHORS) {
            for (String className : optionClassesIn(jarOf(anchor))) {
                collect(className, keys);
            }
        }
        // Keys with placeholders (external-resource.<resource_name>.amount, metrics.reporter.<name>.factory.class)
        // become patterns; a placeholder stands for one segment of the key.
        List<Pattern> patterns = new ArrayList<>();
        // Catch-alls that end in a placeholder (metrics.reporter.<name>.<parameter>, external-resource.<name>.param.<param>)
        // would accept any typo; the parameters actually used are listed explicitly below instead.
        for (String k : keys) {
            if (k.contains("<") && !k.matches(".*\\.<[^>]+>")) patterns.add(Pattern.compile(Pattern.quote(k).replaceAll("<[^>]+>", "\\\\E" + NAME + "\\\\Q")));
        }
        keys.removeIf(k -> k.contains("<"));
        // Read by the Prometheus reporter itself from its reporter settings rather than declared as an option.
        patterns.add(Pattern.compile("metrics\\.reporter\\." + NAME + "\\." + Pattern.quote(prometheusPortArg())));
        // external-resource.<name>.<platform>.config-key: suffixes declared by the Kubernetes and YARN modules
        // (KubernetesConfigOptions, YarnConfigOptions), which are not dependencies of this project.
        for (String platformSuffix : List.of("kubernetes.config-key", "yarn.config-key")) {
            String key = ExternalResourceOptions.getSystemConfigKeyConfigOptionForResource("NAME", platformSuffix);
            patterns.add(Pattern.compile(Pattern.quote(key).replace("NAME", "\\E" + NAME + "\\Q")));
        }
        for (String param : GPU_DRIVER_PARAMS) {
            patterns.add(Pattern.compile("external-resource\\." + NAME + "\\."
                    + Pattern.quote(ExternalResourceOptions.EXTERNAL_RESOURCE_DRIVER_PARAM_SUFFIX + param)));
        }
        return new FlinkOptionKeys(keys, patterns);
    }

    /** Whether Flink knows {@code key}. */
    boolean isKnown(String key) {
        return exact.contains(key) || patterns.stream().anyMatch(p -> p.matcher(key).matches());
    }

    /** The number of exact keys collected (a sanity bound for tests). */
    int size() {
        return exact.size();
    }

    private static String prometheusPortArg() {
        try {
            Field f = PrometheusReporterFactory.class.getDeclaredField("ARG_PORT");
            f.setAccessible(true);
            return (String) f.get(null);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("PrometheusReporterFactory.ARG_PORT not found: Flink changed its reporter", e);
        }
    }

    private static void collect(String className, Set<String> keys) {
        Class<?> c;
        try {
            c = Class.forName(className, true, FlinkOptionKeys.class.getClassLoader());
        } catch (Throwable e) {
            return; // an options class whose optional dependencies are absent declares nothing we could use
        }
        Documentation.SuffixOption classPrefix = c.getAnnotation(Documentation.SuffixOption.class);
        for (Field f : c.getDeclaredFields()) {
            if (!Modifier.isStatic(f.getModifiers()) || !ConfigOption.class.isAssignableFrom(f.getType())) continue;
            try {
                f.setAccessible(true);
                ConfigOption<?> o = (ConfigOption<?>) f.get(null);
                if (o == null) continue;
                // A suffix option's key is relative to a prefix such as metrics.reporter.<name>.
                Documentation.SuffixOption suffix = f.getAnnotation(Documentation.SuffixOption.class);
                String prefix = suffix != null ? suffix.value() + "." : classPrefix != null ? classPrefix.value() + "." : "";
                keys.add(prefix + o.key());
                for (FallbackKey fk : o.fallbackKeys()) keys.add(prefix + fk.getKey());
            } catch (ReflectiveOperationException | RuntimeException e) {
                // a field we may not read is not a declaration we rely on
            }
        }
    }

    private static Path jarOf(Class<?> c) {
        try {
            return Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    private static List<String> optionClassesIn(Path jar) {
        List<String> out = new ArrayList<>();
        try (JarFile j = new JarFile(jar.toFile())) {
            Enumeration<JarEntry> entries = j.entries();
            while (entries.hasMoreElements()) {
                String n = entries.nextElement().getName();
                if (n.startsWith("org/apache/flink/") && n.endsWith("Options.class") && !n.contains("$")) {
                    out.add(n.substring(0, n.length() - ".class".length()).replace('/', '.'));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read " + jar, e);
        }
        return out;
    }
}
