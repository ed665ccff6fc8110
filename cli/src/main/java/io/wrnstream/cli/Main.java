package io.wrnstream.cli;

import io.wrnstream.cli.demo.Demo;
import io.wrnstream.cli.report.ReportCommand;
import io.wrnstream.cli.reproduce.ReproduceCommand;
import io.wrnstream.serve.ServeCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code wrn-stream} command line: {@code demo} (everything in one process), {@code ingest} (dataset -> Kafka),
 * {@code job} (the training job against external Kafka), {@code serve} (HTTP predictions, hot-swapped models),
 * {@code report} (HTML learning curve), {@code reproduce} (the paper's comparisons under a budget), and the offline
 * {@code train}, {@code bench}, {@code params}.
 *
 * <p>The model module's offline commands ({@code train}, {@code bench}, {@code params}) sit next to these. A bad
 * setting prints one {@code error:} line and exits with 2; a failure while running exits with 1.
 */
@Command(name = "wrn-stream", mixinStandardHelpOptions = true, version = "wrn-stream 0.1.0",
        description = "Continual training of Wide Residual Networks from Kafka image streams with Apache Flink.")
public final class Main {

    /** The command line with every subcommand registered. */
    public static CommandLine commandLine() {
        CommandLine cli = new CommandLine(new Main())
                .addSubcommand("demo", new Demo())
                .addSubcommand("ingest", new IngestDelegate())
                .addSubcommand("job", new JobCommand())
                .addSubcommand("serve", new ServeCommand())
                .addSubcommand("report", new ReportCommand())
                .addSubcommand("reproduce", new ReproduceCommand())
                .addSubcommand("bench-feed", new FeedBenchCommand());
        for (Object offline : Cli.modelCommands()) {
            cli.addSubcommand(offline);   // train, bench, params
        }
        return Cli.configure(cli);
    }

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }
}
