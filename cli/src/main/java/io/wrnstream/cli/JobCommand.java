package io.wrnstream.cli;

import io.wrnstream.jobs.TrainingJob;
import io.wrnstream.jobs.config.JobConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Unmatched;

/** {@code job}: runs the streaming training job against an external Kafka cluster, configured by {@link JobConfig}. */
@Command(name = "job", description = "Run the streaming training job against external Kafka (options: --help).")
public final class JobCommand implements Callable<Integer> {

    @Option(names = {"-h", "--help"}, usageHelp = false, description = "List every job option with its default.")
    boolean help;

    @Unmatched
    List<String> args = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        if (help) {
            System.out.println("Usage: wrn-stream job [--config FILE] [--key value]...\n\nOptions:\n" + JobConfig.help());
            return 0;
        }
        new TrainingJob(JobConfig.fromArgs(args.toArray(String[]::new))).execute();
        return 0;
    }
}
