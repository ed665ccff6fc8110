package io.wrnstream.cli;

import io.wrnstream.model.Defaults;
import io.wrnstream.model.progress.Progress;

import io.wrnstream.kafka.ingest.Ingest;
import io.wrnstream.kafka.ingest.IngestEncoding;
import io.wrnstream.kafka.ingest.IngestException;
import io.wrnstream.kafka.ingest.IngestOptions;
import io.wrnstream.kafka.ingest.IngestResult;

import io.wrnstream.model.data.Split;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ingest}: publishes a dataset split to a Kafka topic (see {@link Ingest}). Progress and a human summary go to
 * stderr, one JSON summary line to stdout. Exit codes: 0 done, 1 runtime failure (data, Kafka), 2 bad usage.
 *
 * <pre>
 * ingest --data ../shared/datasets/cifar10-jpeg --split train --topic cifar10-train --bootstrap localhost:9092 \
 *        --epochs 3 --rate 2000
 * </pre>
 */
@Command(name = "ingest", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Publish a dataset split to a Kafka topic as versioned image records (key = sample id).")
public final class IngestCommand implements Callable<Integer> {

    @Option(names = "--data", required = true, paramLabel = "PATH",
            description = "Dataset folder or file: CIFAR binary, IDX, cifar-*.tar.gz, zip or folder of JPEG/PNG.")
    Path data;

    @Option(names = "--split", required = true, paramLabel = "train|test", converter = SplitConverter.class,
            description = "Which split to publish.")
    Split split;

    @Option(names = "--topic", required = true, paramLabel = "TOPIC", description = "Target topic (created if missing).")
    String topic;

    @Option(names = "--bootstrap", defaultValue = Defaults.BOOTSTRAP_SERVERS, paramLabel = "HOST:PORT",
            description = "Kafka bootstrap servers, HOST:PORT[,HOST:PORT...] (default: ${DEFAULT-VALUE}).")
    String bootstrap;

    @Option(names = "--epochs", paramLabel = "N", defaultValue = "1",
            description = "Passes over the data, each freshly shuffled from the seed (default: ${DEFAULT-VALUE}).")
    int epochs;

    @Option(names = "--seed", paramLabel = "S", defaultValue = Defaults.SEED_TEXT,
            description = "Seed of the shuffles and of the --limit subset (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--partitions", paramLabel = "P", defaultValue = "2",
            description = "Partitions of the topic when it has to be created (default: ${DEFAULT-VALUE}).")
    int partitions;

    @Option(names = "--rate", paramLabel = "IMAGES_PER_SEC", defaultValue = "0",
            description = "Rate limit in images/s; 0 = unlimited (default: ${DEFAULT-VALUE}).")
    double rate;

    @Option(names = "--limit", paramLabel = "N", defaultValue = "0",
            description = "Publish a seeded random subset of N images per epoch; 0 = all (default: ${DEFAULT-VALUE}).")
    int limit;

    @Option(names = "--encoding", paramLabel = "auto|raw|png|jpeg|source", defaultValue = "auto",
            converter = EncodingConverter.class,
            description = "Payload encoding; auto = source for JPEG/PNG data (bytes unchanged), raw for binary formats"
                    + " (default: ${DEFAULT-VALUE}).")
    IngestEncoding encoding;

    @Option(names = "--kafka-property", paramLabel = "KEY=VALUE", mapFallbackValue = "",
            description = "Extra Kafka producer/admin property, repeatable (e.g. compression.type=lz4).")
    Map<String, String> kafkaProperties = new LinkedHashMap<>();

    @Option(names = "--skip-corrupt", description = "Skip undecodable or mis-sized images instead of failing.")
    boolean skipCorrupt;

    @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "15",
            description = "Bound on reaching Kafka and on each blocking Kafka call (default: ${DEFAULT-VALUE}).")
    long timeoutSeconds;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    private final PrintStream out;
    private final PrintStream err;
    private final boolean terminal;

    IngestCommand(PrintStream out, PrintStream err, boolean terminal) {
        this.out = out;
        this.err = err;
        this.terminal = terminal;
    }

    /** Runs {@code ingest} and exits with its code. */
    public static void main(String[] args) {
        System.exit(execute(args, System.out, System.err, Progress.attachedToTerminal()));
    }

    /** Runs {@code ingest} with the given streams and returns the exit code (0 done, 1 runtime failure, 2 usage). */
    public static int execute(String[] args, PrintStream out, PrintStream err, boolean terminal) {
        CommandLine cmd = new CommandLine(new IngestCommand(out, err, terminal));
        cmd.setOut(new PrintWriter(out, true, StandardCharsets.UTF_8));
        cmd.setErr(new PrintWriter(err, true, StandardCharsets.UTF_8));
        cmd.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            if (ex instanceof IngestException) {
                commandLine.getErr().println("ingest: error: " + ex.getMessage());
                return 1;
            }
            throw ex; // a bug: keep the stack trace
        });
        return cmd.execute(args);
    }

    @Override
    public Integer call() {
        IngestOptions options;
        try {
            options = IngestOptions.builder(data, split, topic, bootstrap).epochs(epochs).seed(seed)
                    .partitions(partitions).rate(rate).limit(limit).encoding(encoding)
                    .kafkaProperties(kafkaProperties).skipCorrupt(skipCorrupt)
                    .timeout(Duration.ofSeconds(timeoutSeconds)).build();
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage(), e);
        }
        IngestResult result = new Ingest(options, err, terminal).run();
        err.println("ingest: " + result.toHumanLine());
        out.println(result.toJson());
        out.flush();
        return 0;
    }

    static final class SplitConverter implements CommandLine.ITypeConverter<Split> {
        @Override
        public Split convert(String value) {
            try {
                return Split.parse(value);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }

    static final class EncodingConverter implements CommandLine.ITypeConverter<IngestEncoding> {
        @Override
        public IngestEncoding convert(String value) {
            try {
                return IngestEncoding.parse(value);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }
}
