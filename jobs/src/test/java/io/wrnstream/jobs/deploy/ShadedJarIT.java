package io.wrnstream.jobs.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.wrnstream.jobs.TrainingJob;
import java.io.File;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The thin job jar ({@code -Pdist}, run by failsafe after {@code package}): what it holds and leaves out, and that the
 * job builds from it with only the Flink distribution's classes and one engine's lib folder (the image's
 * {@code /opt/flink/lib}) beside it, as on a cluster.
 */
class ShadedJarIT {
    /**
     * What the Flink distribution provides (lib/flink-dist and the logging jars): Flink's artifacts except the two
     * connectors, which are not in the distribution, and what Flink itself bundles.
     */
    private static final Pattern FLINK_DIST = Pattern.compile(".*/(org/apache/flink/(?!flink-connector-(kafka|base)/)"
            + "|org/slf4j/|org/apache/logging/log4j/|com/esotericsoftware/|org/objenesis/|org/snakeyaml/|com/ververica/"
            + "|commons-collections/commons-collections/|commons-cli/|org/javassist/|tools/profiler/|org/apache/commons/commons-text/"
            + "|org/apache/commons/commons-lang3/|org/apache/commons/commons-math3/|commons-io/).*\\.jar");

    private static Path jar;
    private static Path engineLib;

    @BeforeAll
    static void findJar() {
        String p = System.getProperty("wrn.jobJar", "");
        assumeTrue(!p.isEmpty() && Files.isRegularFile(Path.of(p)),
                "no job jar at '" + p + "': build it with ./mvnw -B -Pdist verify (this test runs after package)");
        jar = Path.of(p);
        engineLib = Path.of(System.getProperty("wrn.engineLib", ""));
        assumeTrue(Files.isDirectory(engineLib), "no engine lib at '" + engineLib + "': build it with ./mvnw -B -Pdist verify");
    }

    @Test
    void holdsTheJobAndItsConnectorsButNotFlinkTheBrokerTheModelOrAnyEngine() throws Exception {
        List<String> entries = new ArrayList<>();
        String mainClass;
        try (JarFile j = new JarFile(jar.toFile())) {
            mainClass = j.getManifest().getMainAttributes().getValue(Attributes.Name.MAIN_CLASS);
            j.stream().map(JarEntry::getName).forEach(entries::add);
        }
        System.out.printf("job jar %s: %d entries, %.0f MB%n", jar.getFileName(), entries.size(), Files.size(jar) / 1e6);
        assertThat(mainClass).isEqualTo(TrainingJob.class.getName());
        assertThat(entries).contains("io/wrnstream/jobs/TrainingJob.class")
                .anyMatch(e -> e.startsWith("io/wrnstream/kafka/"))
                .anyMatch(e -> e.startsWith("org/apache/flink/connector/kafka/"))
                .anyMatch(e -> e.startsWith("org/apache/flink/connector/base/"))
                .anyMatch(e -> e.startsWith("org/apache/kafka/clients/"));
        assertThat(Files.size(jar)).as("a thin jar: no natives").isLessThan(40_000_000L);
        for (String excluded : List.of("org/apache/flink/runtime/", "org/apache/flink/streaming/api/", "org/apache/flink/api/common/",
                "org/apache/flink/configuration/", "org/apache/flink/metrics/prometheus/", "org/apache/flink/state/rocksdb/", "org/rocksdb/",
                // the broker (kafka-clients keeps org/apache/kafka/server/{authorizer,policy,quota,telemetry}: plugin APIs)
                "kafka/server/", "kafka/log/", "org/apache/kafka/server/common/", "org/apache/kafka/metadata/", "org/apache/kafka/raft/",
                "org/apache/kafka/coordinator/", "org/apache/kafka/storage/internals/", "scala/",
                "org/slf4j/", "org/apache/logging/log4j/", "com/esotericsoftware/kryo/",
                // the model and the engines live in the image's lib/, one engine per image
                "io/wrnstream/model/", "io/wrnstream/engine/", "org/deeplearning4j/", "org/nd4j/", "org/bytedeco/")) {
            assertThat(entries).as("nothing under %s", excluded).noneMatch(e -> e.startsWith(excluded));
        }
        assertThat(entries).as("signatures dropped").noneMatch(e -> e.matches("META-INF/[^/]+\\.(SF|DSA|RSA|EC)"));
    }

    @Test
    void jobBuildsFromTheJarWithTheFlinkDistributionAndOneEngineLibBesideIt() throws Exception {
        // Parent: Flink's lib/ (the distribution plus the engine folder), as the image lays it out; child: the job jar.
        List<URL> lib = new ArrayList<>();
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            if (FLINK_DIST.matcher(entry.replace(File.separatorChar, '/')).matches()) lib.add(Path.of(entry).toUri().toURL());
        }
        try (var files = Files.list(engineLib)) {
            for (Path p : files.filter(f -> f.toString().endsWith(".jar")).toList()) lib.add(p.toUri().toURL());
        }
        List<URL> user = List.of(jar.toUri().toURL(),
                Path.of(ShadedJarProbe.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toUri().toURL());
        ClassLoader previous = Thread.currentThread().getContextClassLoader();
        try (URLClassLoader flinkLib = new URLClassLoader("flink-lib", lib.toArray(URL[]::new), ClassLoader.getPlatformClassLoader());
             URLClassLoader cluster = new URLClassLoader("flink-user", user.toArray(URL[]::new), flinkLib)) {
            Thread.currentThread().setContextClassLoader(cluster);
            assertThatThrownBy(() -> cluster.loadClass("kafka.server.KafkaRaftServer")).as("the broker is not there")
                    .isInstanceOf(ClassNotFoundException.class);
            assertThat(cluster.loadClass(TrainingJob.class.getName()).getProtectionDomain().getCodeSource().getLocation().toString())
                    .as("the job's classes come from the jar").endsWith(jar.getFileName().toString());
            String result = (String) cluster.loadClass(ShadedJarProbe.class.getName()).getMethod("run").invoke(null);
            System.out.println("probe: " + result);
            assertThat(result).contains("engines=[libtorch]").containsPattern("vertices=[4-9]");
        } finally {
            Thread.currentThread().setContextClassLoader(previous);
        }
    }
}
