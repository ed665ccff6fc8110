package io.wrnstream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.wrnstream.jobs.config.JobConfig;
import io.wrnstream.model.Defaults;
import org.apache.flink.configuration.ConfigOption;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * One default per setting: the commands' options and the job's ConfigOptions agree, because all of them refer to
 * {@link Defaults}. A command that typed its own default would fail here.
 */
class SharedDefaultsTest {
    private final CommandLine cli = Main.commandLine();

    private String defaultOf(String command, String option) {
        // ingest is registered as a delegate that hands its arguments to IngestCommand: read that command's options
        CommandLine c = command.equals("ingest") ? new CommandLine(new IngestCommand(System.out, System.err, false)) : cli.getSubcommands().get(command);
        return c.getCommandSpec().findOption(option).defaultValue();
    }

    private static String job(ConfigOption<?> o) {
        return JobConfig.defaultText(o);
    }

    @Test
    void engineAndPrecisionAreTheJobsInEveryCommand() {
        assertThat(job(JobConfig.ENGINE)).isEqualTo("libtorch").isEqualTo(Defaults.ENGINE);
        for (String command : new String[] {"bench", "demo"}) {
            assertThat(defaultOf(command, "--engine")).as(command).isEqualTo(job(JobConfig.ENGINE));
            assertThat(defaultOf(command, "--precision")).as(command).isEqualTo(job(JobConfig.PRECISION)).isEqualTo("auto");
        }
        // train's engine defaults to the resumed model's, else the shared default (resolved in the command).
        assertThat(defaultOf("train", "--engine")).isNull();
    }

    @Test
    void modelBatchSizeAndSeedAreSharedWithTheJob() {
        for (String command : new String[] {"train", "bench", "params"}) {
            assertThat(defaultOf(command, "--model")).as(command).isEqualTo(job(JobConfig.MODEL));
        }
        assertThat(defaultOf("demo", "--model")).as("the demo's own, smaller model").isEqualTo(Defaults.DEMO_MODEL);
        assertThat(defaultOf("train", "--batch-size")).isEqualTo(job(JobConfig.BATCH_SIZE));
        assertThat(defaultOf("bench", "--batch")).isEqualTo(job(JobConfig.BATCH_SIZE));
        assertThat(defaultOf("demo", "--batch-size")).isEqualTo(job(JobConfig.BATCH_SIZE));
        for (String command : new String[] {"train", "bench", "ingest"}) {
            assertThat(Long.parseLong(defaultOf(command, "--seed"))).as(command).isEqualTo(JobConfig.SEED.defaultValue());
        }
        assertThat(Double.parseDouble(defaultOf("train", "--lr"))).isEqualTo(JobConfig.LR.defaultValue());
        assertThat(Double.parseDouble(defaultOf("train", "--dropout"))).isEqualTo(JobConfig.DROPOUT.defaultValue());
        assertThat(defaultOf("train", "--schedule")).isEqualTo(job(JobConfig.SCHEDULE));
    }

    @Test
    void kafkaEndpointsAndTopicsAreSharedWithTheJob() {
        assertThat(defaultOf("ingest", "--bootstrap")).isEqualTo(job(JobConfig.BOOTSTRAP_SERVERS));
        assertThat(defaultOf("serve", "--bootstrap")).isEqualTo(job(JobConfig.BOOTSTRAP_SERVERS));
        assertThat(defaultOf("serve", "--topic")).isEqualTo(job(JobConfig.TOPIC_MODEL_UPDATES));
        assertThat(defaultOf("report", "--topic")).isEqualTo(job(JobConfig.TOPIC_RESULTS));
        assertThat(defaultOf("demo", "--prometheus-port")).isEqualTo(job(JobConfig.PROMETHEUS_PORT));
    }
}
