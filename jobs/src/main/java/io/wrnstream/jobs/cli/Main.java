package io.wrnstream.jobs.cli;

import io.wrnstream.jobs.embedded.Demo;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code wrn-stream} command line: {@code demo} (everything in one process), {@code ingest} (dataset -> Kafka)
 * and {@code job} (the training job against external Kafka).
 *
 * <p>The model module's offline commands (train, bench, params) belong in {@link #commandLine()}'s list of
 * subcommands, next to these.
 */
@Command(name = "wrn-stream", mixinStandardHelpOptions = true, version = "wrn-stream 0.1.0",
        description = "Continual training of Wide Residual Networks from Kafka image streams with Apache Flink.")
public final class Main {

    /** The command line with every subcommand registered. */
    public static CommandLine commandLine() {
        return new CommandLine(new Main())
                .addSubcommand("demo", new Demo())
                .addSubcommand("ingest", new IngestDelegate())
                .addSubcommand("job", new JobCommand());
        // Offline model commands (train, bench, params) are added here.
    }

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }
}
