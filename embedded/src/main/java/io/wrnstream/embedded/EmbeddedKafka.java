package io.wrnstream.embedded;

import io.wrnstream.kafka.ingest.Topics;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;
import org.apache.kafka.metadata.storage.Formatter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Kafka's own broker, in process: one KRaft node that is both broker and controller, listening on free ports of
 * 127.0.0.1, with its log in a temporary directory that {@link #close()} deletes. Starting takes about 3 s.
 *
 * <p>Internal topics are sized for one node: offsets and transaction-state topics have replication factor 1 and
 * min ISR 1 (Flink's exactly-once sink uses transactions), {@code transaction.max.timeout.ms} is one hour (Flink's
 * default transaction timeout), and consumer groups rebalance without initial delay. Topics are not auto-created:
 * create them with {@link #createTopics(int, String...)}, which waits until they take writes.
 *
 * <pre>{@code
 * try (EmbeddedKafka kafka = EmbeddedKafka.start()) {
 *     kafka.createTopics(2, "cifar10-train");
 *     producerProps.put("bootstrap.servers", kafka.bootstrapServers());
 *     ...
 * }
 * }</pre>
 */
public final class EmbeddedKafka implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedKafka.class);
    private static final int NODE_ID = 1;
    private static final String CONTROLLER_LISTENER = "CONTROLLER";
    private static final int START_ATTEMPTS = 3;
    /** Bound on every admin wait of this class. */
    public static final Duration TIMEOUT = Duration.ofSeconds(30);

    private final Path logDir;
    private final KafkaRaftServer server;
    private final String bootstrapServers;
    private final Admin admin;

    private EmbeddedKafka(Path logDir, KafkaRaftServer server, String bootstrapServers) {
        this.logDir = logDir;
        this.server = server;
        this.bootstrapServers = bootstrapServers;
        this.admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers,
                AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) TIMEOUT.toMillis()));
    }

    /** Starts a broker with the default settings. */
    public static EmbeddedKafka start() {
        return start(Map.of());
    }

    /**
     * Starts a broker; {@code overrides} are broker configs applied over the defaults (listeners and log directory
     * excepted). Returns once the broker answers admin requests.
     *
     * @throws IllegalStateException when the broker does not start
     */
    public static EmbeddedKafka start(Map<String, String> overrides) {
        RuntimeException last = null;
        for (int attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
            Path dir;
            try {
                dir = Files.createTempDirectory("wrn-kafka-");
            } catch (IOException e) {
                throw new UncheckedIOException("Cannot create a log directory for the embedded Kafka broker", e);
            }
            KafkaRaftServer server = null;
            try {
                int brokerPort = freePort();
                int controllerPort = freePort();
                Properties props = config(dir, brokerPort, controllerPort, overrides);
                KafkaConfig config = KafkaConfig.fromProps(props, false);
                format(dir, config);
                server = new KafkaRaftServer(config, Time.SYSTEM);
                server.startup();
                EmbeddedKafka kafka = new EmbeddedKafka(dir, server, "127.0.0.1:" + brokerPort);
                kafka.awaitBroker();
                LOG.info("Embedded Kafka broker at {} (log dir {})", kafka.bootstrapServers, dir);
                return kafka;
            } catch (RuntimeException e) {
                // Most likely a port taken between choosing it and binding it: retry on new ports.
                last = e;
                LOG.warn("Embedded Kafka failed to start (attempt {} of {}): {}", attempt, START_ATTEMPTS, e.toString());
                if (server != null) stop(server);
                deleteRecursively(dir);
            }
        }
        throw new IllegalStateException("Embedded Kafka broker did not start after " + START_ATTEMPTS + " attempts", last);
    }

    private static Properties config(Path dir, int brokerPort, int controllerPort, Map<String, String> overrides) {
        Map<String, String> c = new TreeMap<>();
        c.put("process.roles", "broker,controller");
        c.put("node.id", Integer.toString(NODE_ID));
        c.put("controller.quorum.voters", NODE_ID + "@127.0.0.1:" + controllerPort);
        c.put("controller.listener.names", CONTROLLER_LISTENER);
        c.put("inter.broker.listener.name", "PLAINTEXT");
        c.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT," + CONTROLLER_LISTENER + ":PLAINTEXT");
        c.put("auto.create.topics.enable", "false");
        c.put("num.partitions", "1");
        c.put("default.replication.factor", "1");
        c.put("min.insync.replicas", "1");
        c.put("offsets.topic.replication.factor", "1");
        c.put("offsets.topic.num.partitions", "1");
        c.put("transaction.state.log.replication.factor", "1");
        c.put("transaction.state.log.min.isr", "1");
        c.put("transaction.state.log.num.partitions", "1");
        c.put("transaction.max.timeout.ms", Long.toString(TimeUnit.HOURS.toMillis(1)));
        c.put("share.coordinator.state.topic.replication.factor", "1");
        c.put("share.coordinator.state.topic.min.isr", "1");
        c.put("group.initial.rebalance.delay.ms", "0");
        // A small node on a shared machine: few threads.
        c.put("num.network.threads", "2");
        c.put("num.io.threads", "2");
        c.put("background.threads", "2");
        c.put("num.recovery.threads.per.data.dir", "1");
        c.put("log.cleaner.threads", "1");
        c.putAll(overrides);
        c.put("listeners", "PLAINTEXT://127.0.0.1:" + brokerPort + "," + CONTROLLER_LISTENER + "://127.0.0.1:" + controllerPort);
        c.put("advertised.listeners", "PLAINTEXT://127.0.0.1:" + brokerPort);
        c.put("log.dirs", dir.toAbsolutePath().toString());
        Properties props = new Properties();
        props.putAll(c);
        return props;
    }

    private static void format(Path dir, KafkaConfig config) {
        try (PrintStream quiet = new PrintStream(OutputStream.nullOutputStream(), true, StandardCharsets.UTF_8)) {
            new Formatter()
                    .setPrintStream(quiet)
                    .setClusterId(Uuid.randomUuid().toString())
                    .setNodeId(config.nodeId())
                    .setControllerListenerName(CONTROLLER_LISTENER)
                    .setMetadataLogDirectory(config.metadataLogDir())
                    .setDirectories(List.of(dir.toAbsolutePath().toString()))
                    .run();
        } catch (Exception e) {
            throw new IllegalStateException("Cannot format the KRaft log directory " + dir + ": " + e.getMessage(), e);
        }
    }

    private void awaitBroker() {
        try {
            int nodes = admin.describeCluster().nodes().get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS).size();
            if (nodes != 1) throw new IllegalStateException("Embedded Kafka reports " + nodes + " brokers, expected 1");
        } catch (Exception e) {
            admin.close(Duration.ZERO);
            if (e instanceof InterruptedException) Thread.currentThread().interrupt();
            throw new IllegalStateException("Embedded Kafka broker at " + bootstrapServers + " did not answer within "
                    + TIMEOUT.toSeconds() + " s", e);
        }
    }

    /** {@code host:port} of the broker's PLAINTEXT listener, for {@code bootstrap.servers}. */
    public String bootstrapServers() {
        return bootstrapServers;
    }

    /** Client properties holding only {@code bootstrap.servers}; add the rest. */
    public Properties clientProperties() {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        return p;
    }

    /** Directory holding the broker's log (deleted on {@link #close()}). */
    public Path logDir() {
        return logDir;
    }

    /**
     * Creates the named topics that do not exist yet with {@code partitions} partitions each, and returns once every
     * partition of every named topic has a leader that takes writes.
     *
     * @throws IllegalArgumentException when {@code partitions < 1} or no name is given
     * @throws IllegalStateException when the broker does not create them within {@link #TIMEOUT}
     */
    public void createTopics(int partitions, String... names) {
        if (names.length == 0) throw new IllegalArgumentException("createTopics needs at least one topic name");
        try {
            Topics.ensure(admin, partitions, (short) 1, TIMEOUT, Arrays.asList(names));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while creating topics " + Arrays.toString(names), e);
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            throw new IllegalStateException("Cannot create topics " + Arrays.toString(names) + " on embedded Kafka at "
                    + bootstrapServers + ": " + (e.getCause() != null ? e.getCause() : e), e);
        }
    }

    /** Stops the broker and deletes its log directory. */
    @Override
    public void close() {
        admin.close(Duration.ofSeconds(5));
        stop(server);
        deleteRecursively(logDir);
    }

    private static void stop(KafkaRaftServer server) {
        try {
            server.shutdown();
            server.awaitShutdown();
        } catch (RuntimeException e) {
            LOG.warn("Embedded Kafka did not shut down cleanly: {}", e.toString());
        }
    }

    private static int freePort() {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            s.setReuseAddress(true);
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException("No free local port for the embedded Kafka broker", e);
        }
    }

    private static void deleteRecursively(Path dir) {
        if (!Files.exists(dir)) return;
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            LOG.warn("Cannot delete embedded Kafka log directory {}: {}", dir, e.toString());
        }
    }
}
