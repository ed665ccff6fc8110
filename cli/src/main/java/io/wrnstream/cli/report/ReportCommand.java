package io.wrnstream.cli.report;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code report}: reads the evaluation stream, from a JSON-lines file ({@code --input}) or the results topic (everything
 * committed up to its end at start), and writes one self-contained HTML page ({@link HtmlReport}).
 *
 * <pre>
 * wrn-stream report --input results.jsonl --config job.yaml --output report.html
 * wrn-stream report --bootstrap localhost:9092 --topic wrn.results --output report.html
 * </pre>
 */
@Command(name = "report", mixinStandardHelpOptions = true, sortOptions = false,
        description = "HTML learning curve (test error and loss against images seen) from the evaluation stream.")
public final class ReportCommand implements Callable<Integer> {

    @Option(names = "--input", paramLabel = "FILE", description = "JSON lines of evaluations (job results or the train command's metrics).")
    Path input;

    @Option(names = "--bootstrap", description = "Kafka bootstrap servers: read the results topic instead of --input.")
    String bootstrap;

    @Option(names = "--topic", defaultValue = io.wrnstream.model.Defaults.TOPIC_RESULTS, description = "Results topic (default: ${DEFAULT-VALUE}).")
    String topic;

    @Option(names = "--config", paramLabel = "FILE", description = "Configuration file to show in the report.")
    Path config;

    @Option(names = "--title", defaultValue = "wrn-stream learning curve", description = "Page title (default: ${DEFAULT-VALUE}).")
    String title;

    @Option(names = {"-o", "--output"}, defaultValue = "wrn-report.html", description = "HTML file to write (default: ${DEFAULT-VALUE}).")
    Path output;

    @Override
    public Integer call() throws Exception {
        if ((input == null) == (bootstrap == null)) {
            throw new IllegalStateException("Give exactly one of --input FILE and --bootstrap SERVERS (with --topic)");
        }
        List<String> lines = input != null ? readFile(input) : readTopic(bootstrap, topic, Duration.ofSeconds(30));
        LearningCurve curve = LearningCurve.parse(lines);
        String configText = config != null ? Files.readString(config, StandardCharsets.UTF_8) : curve.config();
        String html = HtmlReport.render(curve, title, configText);
        Path dir = output.toAbsolutePath().getParent();
        if (dir != null) Files.createDirectories(dir);
        Files.writeString(output, html, StandardCharsets.UTF_8);
        EvalPoint best = curve.best();
        System.err.printf(java.util.Locale.ROOT, "report: %d evaluations (best test error %.2f%% at step %d) written to %s%n", curve.points().size(),
                100 * best.testError(), best.step(), output.toAbsolutePath());
        return 0;
    }

    private static List<String> readFile(Path file) {
        try {
            return Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalArgumentException("Cannot read --input " + file + ": " + e.getMessage(), e);
        }
    }

    /** Every committed record of {@code topic} up to its end offsets now, in offset order per partition. */
    static List<String> readTopic(String bootstrap, String topic, Duration timeout) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        List<String> out = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<PartitionInfo> infos = c.partitionsFor(topic, timeout);
            if (infos == null || infos.isEmpty()) throw new IllegalArgumentException("Topic " + topic + " does not exist at " + bootstrap);
            List<TopicPartition> parts = infos.stream().map(i -> new TopicPartition(topic, i.partition())).toList();
            c.assign(parts);
            c.seekToBeginning(parts);
            Map<TopicPartition, Long> end = c.endOffsets(parts);
            long deadline = System.nanoTime() + timeout.toNanos();
            while (parts.stream().anyMatch(tp -> c.position(tp) < end.get(tp))) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("Reading " + topic + " did not reach its end within " + timeout.toSeconds() + " s");
                }
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
                    if (r.value() != null) out.add(new String(r.value(), StandardCharsets.UTF_8));
                }
            }
        }
        return out;
    }
}
