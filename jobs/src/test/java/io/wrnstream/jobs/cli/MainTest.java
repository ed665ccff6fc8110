package io.wrnstream.jobs.cli;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class MainTest {

    @Test
    void registersDemoIngestAndJob() {
        CommandLine cl = Main.commandLine();
        assertThat(cl.getSubcommands()).containsKeys("demo", "ingest", "job");
    }

    @Test
    void jobCommandRejectsABadOptionNamingIt() {
        CommandLine cl = Main.commandLine();
        StringBuilder err = new StringBuilder();
        cl.setExecutionExceptionHandler((ex, c, p) -> {
            err.append(ex.getMessage());
            return 2;
        });
        assertThat(cl.execute("job", "--batch-size", "-1")).isEqualTo(2);
        assertThat(err.toString()).isEqualTo("Invalid value '-1' for batch-size: must be an integer in [1, 65536]");
    }
}
