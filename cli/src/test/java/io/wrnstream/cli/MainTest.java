package io.wrnstream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class MainTest {

    @Test
    void registersEveryCommand() {
        CommandLine cl = Main.commandLine();
        assertThat(cl.getSubcommands()).containsKeys("demo", "ingest", "job", "train", "bench", "params", "serve", "report", "reproduce");
    }

    @Test
    void badSettingPrintsOneErrorLineNamingItAndExitsWith2() {
        CommandLine cl = Main.commandLine();
        java.io.StringWriter err = new java.io.StringWriter();
        cl.setErr(new java.io.PrintWriter(err, true));
        assertThat(cl.execute("params", "--model", "wrn-30-1")).isEqualTo(2);
        assertThat(err.toString().trim())
                .isEqualTo("error: Invalid value 30 for wrn.depth: must be 6n+4 with n >= 1 (10, 16, 22, 28, 34, 40, ...)");
    }

    @Test
    void paramsPrintsTheReferenceCountAsJson() {
        CommandLine cl = Main.commandLine();
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        java.io.PrintStream saved = System.out;
        System.setOut(new java.io.PrintStream(out, true));
        try {
            assertThat(cl.execute("params", "--model", "wrn-40-1")).isZero();
        } finally {
            System.setOut(saved);
        }
        String[] lines = out.toString().trim().split("\n");
        assertThat(lines[lines.length - 1]).contains("\"model\":\"wrn-40-1\"").contains("\"params\":563930");
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
