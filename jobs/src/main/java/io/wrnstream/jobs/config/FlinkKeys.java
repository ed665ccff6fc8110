package io.wrnstream.jobs.config;

import java.io.File;
import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.net.URISyntaxException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Enumeration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.FallbackKey;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Flink configuration keys this class path declares, for checking the job's {@code flink.<key>} options.
 *
 * <p>Flink keeps no registry of its options: each module declares its {@code ConfigOption}s as public static fields
 * of holder classes named {@code *Options} ({@code CoreOptions}, {@code CheckpointingOptions},
 * {@code RocksDBConfigurableOptions}, ...), which is also how Flink's own documentation generator finds them. This class
 * lists the {@code org/apache/flink/**}{@code /*Options.class} entries of the Flink jars (file names containing
 * {@code flink}) on the class path, reads their {@code ConfigOption} fields, and keeps every key with its fallback
 * and deprecated keys.
 *
 * <p>What is not checked, because Flink does not declare it as a key: families it reads by pattern
 * ({@code metrics.reporter.<name>.*}, {@code external-resource.<name>.*}, {@code containerized.*.env.*}, file-system
 * plugin settings under {@code fs.} and {@code s3.}), and the families of modules whose jars the job's class path
 * need not hold ({@code kubernetes.}, {@code yarn.}, {@code table.}, {@code python.}, {@code sql-gateway.},
 * {@code historyserver.}). When the enumeration finds no {@code CoreOptions} key (a class path it cannot list, such
 * as a nested jar), {@link #known} is empty and the keys pass unchecked, with a warning.
 */
final class FlinkKeys {
    private static final Logger LOG = LoggerFactory.getLogger(FlinkKeys.class);

    /** Key prefixes passed through unchecked; see the class comment. */
    static final List<String> UNCHECKED_PREFIXES = List.of("metrics.reporter.", "external-resource.", "containerized.master.env.",
            "containerized.taskmanager.env.", "fs.", "s3.", "kubernetes.", "yarn.", "table.", "python.", "sql-gateway.", "historyserver.");

    private FlinkKeys() {}

    /** Immutable once built; computed on first use (a scan of the Flink jars) and shared, like a class constant. */
    private static final class Holder {
        static final Optional<Set<String>> KEYS = scan();
    }

    /** Every declared key, or empty when this class path cannot be enumerated reliably. */
    static Optional<Set<String>> known() {
        return Holder.KEYS;
    }

    /**
     * Why {@code key} (without the {@code flink.} prefix) is not a Flink configuration key, with up to three near
     * matches; null when it is one, when it is under an unchecked prefix, or when the keys cannot be enumerated.
     */
    static String problem(String key) {
        if (UNCHECKED_PREFIXES.stream().anyMatch(key::startsWith)) return null;
        Optional<Set<String>> keys = known();
        if (keys.isEmpty() || keys.get().contains(key)) return null;
        List<String> near = nearest(key, keys.get(), 3);
        return "Unknown Flink configuration key '" + key + "' in option '" + JobConfig.FLINK_PREFIX + key + "'"
                + (near.isEmpty() ? "" : ": did you mean " + String.join(", ", near) + "?")
                + " (flink.<key> takes a key Flink declares, or one under " + String.join(", ", UNCHECKED_PREFIXES) + ")";
    }

    /** Up to {@code n} keys within an edit distance of a third of {@code key}'s length (at least 2), nearest first. */
    static List<String> nearest(String key, Set<String> keys, int n) {
        int bound = Math.max(2, key.length() / 3);
        record Scored(String key, int distance) {}
        List<Scored> hits = new ArrayList<>();
        for (String k : keys) {
            if (Math.abs(k.length() - key.length()) > bound) continue;
            int d = distance(key, k, bound);
            if (d <= bound) hits.add(new Scored(k, d));
        }
        return hits.stream().sorted(Comparator.comparingInt(Scored::distance).thenComparing(Scored::key)).limit(n).map(Scored::key).toList();
    }

    /** Levenshtein distance of {@code a} and {@code b}, or {@code bound + 1} as soon as it must exceed {@code bound}. */
    static int distance(String a, String b, int bound) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) prev[j] = j;
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            int rowMin = cur[0];
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
                rowMin = Math.min(rowMin, cur[j]);
            }
            if (rowMin > bound) return bound + 1;
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }

    private static Optional<Set<String>> scan() {
        long t0 = System.nanoTime();
        ClassLoader loader = FlinkKeys.class.getClassLoader();
        Set<String> keys = new TreeSet<>();
        int holders = 0;
        for (Path jar : flinkJars(loader)) {
            for (String className : optionHolders(jar)) {
                try {
                    Class<?> c = Class.forName(className, false, loader);
                    for (Field f : c.getFields()) {
                        if (!Modifier.isStatic(f.getModifiers()) || !ConfigOption.class.isAssignableFrom(f.getType())) continue;
                        ConfigOption<?> o = (ConfigOption<?>) f.get(null);
                        if (o == null) continue;
                        keys.add(o.key());
                        for (FallbackKey k : o.fallbackKeys()) keys.add(k.getKey());
                    }
                    holders++;
                } catch (ReflectiveOperationException | LinkageError | RuntimeException e) {
                    LOG.debug("Skipping option holder {}: {}", className, e.toString());
                }
            }
        }
        if (!keys.contains("parallelism.default")) {
            LOG.warn("Cannot list Flink's configuration options on this class path ({} keys found): flink.<key> options pass unchecked",
                    keys.size());
            return Optional.empty();
        }
        LOG.info("{} Flink configuration keys in {} option classes, listed in {} ms", keys.size(), holders, (System.nanoTime() - t0) / 1_000_000);
        return Optional.of(Set.copyOf(keys));
    }

    /** The class path's jars whose file names contain {@code flink}, plus the one that holds {@link ConfigOption}. */
    private static Set<Path> flinkJars(ClassLoader loader) {
        Set<Path> jars = new LinkedHashSet<>();
        try {
            URL core = ConfigOption.class.getProtectionDomain().getCodeSource().getLocation();
            jars.add(Path.of(core.toURI()));
        } catch (URISyntaxException | RuntimeException e) {
            LOG.debug("No code source for ConfigOption: {}", e.toString());
        }
        List<String> entries = new ArrayList<>(List.of(System.getProperty("java.class.path", "").split(File.pathSeparator)));
        for (ClassLoader l = loader; l != null; l = l.getParent()) {
            if (l instanceof URLClassLoader u) for (URL url : u.getURLs()) entries.add(url.getPath());
        }
        for (String e : entries) {
            if (e.isEmpty()) continue;
            Path p = Path.of(e);
            if (p.getFileName() != null && p.getFileName().toString().contains("flink") && p.toString().endsWith(".jar")) jars.add(p);
        }
        return jars;
    }

    /** Names of the top-level {@code org.apache.flink...*Options} classes in {@code jar}. */
    private static List<String> optionHolders(Path jar) {
        List<String> out = new ArrayList<>();
        if (!Files.isRegularFile(jar)) return out;
        try (JarFile f = new JarFile(jar.toFile())) {
            for (Enumeration<JarEntry> en = f.entries(); en.hasMoreElements(); ) {
                String n = en.nextElement().getName();
                if (n.startsWith("org/apache/flink/") && n.endsWith("Options.class") && !n.contains("$")) {
                    out.add(n.substring(0, n.length() - ".class".length()).replace('/', '.'));
                }
            }
        } catch (IOException e) {
            LOG.debug("Cannot list {}: {}", jar, e.toString());
        }
        return out;
    }
}
