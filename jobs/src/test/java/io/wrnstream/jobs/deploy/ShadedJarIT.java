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
 * The job jar ({@code -Pjob-jar}, run by failsafe after {@code package}): what it holds and leaves out, and that the
 * job builds from it with only the Flink distribution's classes beside it, as on a cluster.
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

    @BeforeAll
    static void findJar() {
        String p = System.getProperty("wrn.jobJar", "");
        assumeTrue(!p.isEmpty() && Files.isRegularFile(Path.of(p)),
                "no job jar at '" + p + "': build it with ./mvnw -B -Pjob-jar verify (this test runs after package)");
        jar = Path.of(p);
    }

    @Test
    void holdsTheJobItsConnectorsAndLinuxNativesButNotFlinkOrTheBroker() throws Exception {
        List<String> entries = new ArrayList<>();
        String mainClass;
        try (JarFile j = new JarFile(jar.toFile())) {
            mainClass = j.getManifest().getMainAttributes().getValue(Attributes.Name.MAIN_CLASS);
            j.stream().map(JarEntry::getName).forEach(entries::add);
        }
        System.out.printf("job jar %s: %d entries, %.0f MB%n", jar.getFileName(), entries.size(), Files.size(jar) / 1e6);
        assertThat(mainClass).isEqualTo(TrainingJob.class.getName());
        assertThat(entries).contains("io/wrnstream/jobs/TrainingJob.class")
                .anyMatch(e -> e.startsWith("io/wrnstream/model/"))
                .anyMatch(e -> e.startsWith("org/apache/flink/connector/kafka/"))
                .anyMatch(e -> e.startsWith("org/apache/flink/connector/base/"))
                .anyMatch(e -> e.startsWith("org/apache/kafka/clients/"))
                .anyMatch(e -> e.startsWith("org/deeplearning4j/"))
                .anyMatch(e -> e.startsWith("org/nd4j/linalg/"))
                .anyMatch(e -> e.contains("linux-x86_64/") && e.endsWith(".so"));
        for (String excluded : List.of("org/apache/flink/runtime/", "org/apache/flink/streaming/api/", "org/apache/flink/api/common/",
                "org/apache/flink/configuration/", "org/apache/flink/metrics/prometheus/", "org/apache/flink/state/rocksdb/", "org/rocksdb/",
                // the broker (kafka-clients keeps org/apache/kafka/server/{authorizer,policy,quota,telemetry}: plugin APIs)
                "kafka/server/", "kafka/log/", "org/apache/kafka/server/common/", "org/apache/kafka/metadata/", "org/apache/kafka/raft/",
                "org/apache/kafka/coordinator/", "org/apache/kafka/storage/internals/", "scala/",
                "org/slf4j/", "org/apache/logging/log4j/", "com/esotericsoftware/kryo/")) {
            assertThat(entries).as("nothing under %s", excluded).noneMatch(e -> e.startsWith(excluded));
        }
        // DL4J/ND4J (JavaCPP) natives for linux-x86_64 only; Kafka's compression codecs keep their multi-platform builds.
        assertThat(entries).as("DL4J/ND4J natives for linux-x86_64 only")
                .filteredOn(e -> (e.startsWith("org/nd4j/") || e.startsWith("org/bytedeco/")) && e.matches(".*\\.(so|dll|dylib)(\\.\\d+)*"))
                .isNotEmpty().allMatch(e -> e.contains("/linux-x86_64"));
        assertThat(entries).as("signatures dropped").noneMatch(e -> e.matches("META-INF/[^/]+\\.(SF|DSA|RSA|EC)"));
    }

    @Test
    void jobBuildsFromTheJarWithOnlyTheFlinkDistributionBesideIt() throws Exception {
        List<URL> urls = new ArrayList<>();
        urls.add(jar.toUri().toURL());
        urls.add(Path.of(ShadedJarProbe.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toUri().toURL());
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            if (FLINK_DIST.matcher(entry.replace(File.separatorChar, '/')).matches()) urls.add(Path.of(entry).toUri().toURL());
        }
        ClassLoader previous = Thread.currentThread().getContextClassLoader();
        try (URLClassLoader cluster = new URLClassLoader("flink-cluster", urls.toArray(URL[]::new), ClassLoader.getPlatformClassLoader())) {
            Thread.currentThread().setContextClassLoader(cluster);
            assertThatThrownBy(() -> cluster.loadClass("kafka.server.KafkaRaftServer")).as("the broker is not there")
                    .isInstanceOf(ClassNotFoundException.class);
            assertThat(cluster.loadClass(TrainingJob.class.getName()).getProtectionDomain().getCodeSource().getLocation().toString())
                    .as("the job's classes come from the jar").endsWith(jar.getFileName().toString());
            String result = (String) cluster.loadClass(ShadedJarProbe.class.getName()).getMethod("run").invoke(null);
            System.out.println("probe: " + result);
            assertThat(result).contains("nd4jSum=6.0", "backend=org.nd4j.linalg.cpu.nativecpu.CpuBackend", "ingestHelp=0")
                    .containsPattern("vertices=[4-9]");
        } finally {
            Thread.currentThread().setContextClassLoader(previous);
        }
    }
}
