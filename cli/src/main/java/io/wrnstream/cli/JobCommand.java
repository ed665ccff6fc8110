package io.wrnstream.cli;

import io.wrnstream.jobs.TrainingJob;
import io.wrnstream.jobs.config.JobConfig;
import java.util.ArrayList;
import org.apache.flink.runtime.client.JobExecutionException;
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
        TrainingJob job = new TrainingJob(JobConfig.fromClusterAndArgs(args.toArray(String[]::new)));
        try {
            job.execute();
        } catch (JobExecutionException e) {
            System.err.println(TrainingJob.describeFailure(e));
            return 1;
        }
        return 0;
    }
}
