package io.wrnstream.jobs.docs;

import static org.assertj.core.api.Assertions.assertThat;

import io.wrnstream.jobs.config.JobConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * The README's job-option table is the one generated from {@link JobConfig}'s declarations, so the docs cannot drift
 * from the code. Run with {@code -Dreadme.update=true} to rewrite the table in place after adding an option.
 */
class ReadmeTest {
    private static final String BEGIN = "<!-- job-options:begin (generated from JobConfig; ReadmeTest checks it) -->\n";
    private static final String END = "<!-- job-options:end -->";

    @Test
    void jobOptionTableMatchesTheDeclarations() throws IOException {
        Path readme = Path.of("..", "README.md");
        String text = Files.readString(readme, StandardCharsets.UTF_8);
        int begin = text.indexOf(BEGIN), end = text.indexOf(END);
        assertThat(begin).as("README.md has the job-options markers").isGreaterThanOrEqualTo(0);
        assertThat(end).isGreaterThan(begin);
        String expected = JobConfig.markdownTable();
        String actual = text.substring(begin + BEGIN.length(), end);
        if (!actual.equals(expected) && Boolean.getBoolean("readme.update")) {
            Files.writeString(readme, text.substring(0, begin + BEGIN.length()) + expected + text.substring(end), StandardCharsets.UTF_8);
            actual = expected;
        }
        assertThat(actual).as("README job-option table (regenerate with -Dreadme.update=true)").isEqualTo(expected);
    }
}
