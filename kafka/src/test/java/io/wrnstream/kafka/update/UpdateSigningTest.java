package io.wrnstream.kafka.update;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class UpdateSigningTest {
    @TempDir
    Path dir;

    private static final ModelUpdate U = new ModelUpdate("m", 3, 30, 480, 0.5, 0.25, 20L, "file:///models/m/v3.wrnmodel", "ab".repeat(32),
            1234, 7, 1_764_000_000_000L);

    @Test
    void signedUpdateVerifiesAndForgeriesAreRefused() throws Exception {
        Path keyFile = dir.resolve("key");
        Files.writeString(keyFile, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n");
        UpdateSigning key = UpdateSigning.fromFile(keyFile);
        String json = key.signedJson(U);

        assertThat(key.verify(json)).isEqualTo(U);
        assertThat(ModelUpdate.fromJson(json)).as("readers without a key ignore the field").isEqualTo(U);
        assertThatThrownBy(() -> key.verify(U.toJson())).hasMessage("Unsigned model update v3 of m: refused (serve has a signing key)");
        String forged = json.replace("file:///models/m/v3.wrnmodel", "file:///tmp/evil.wrnmodel");
        assertThatThrownBy(() -> key.verify(forged)).hasMessage("Model update v3 of m has a wrong signature: refused");
        UpdateSigning other = new UpdateSigning("another key of at least thirty-two bytes".getBytes(StandardCharsets.UTF_8));
        assertThatThrownBy(() -> other.verify(json)).hasMessage("Model update v3 of m has a wrong signature: refused");
    }

    @Test
    void shortOrMissingKeysAreRefusedNamingTheFile() throws Exception {
        Path shortKey = dir.resolve("short");
        Files.writeString(shortKey, "secret");
        assertThatThrownBy(() -> UpdateSigning.fromFile(shortKey))
                .hasMessage("Invalid model signing key in " + shortKey + " of 6 bytes: must be at least 32 bytes (e.g. openssl rand -hex 32)");
        assertThatThrownBy(() -> UpdateSigning.fromFile(dir.resolve("none"))).hasMessageStartingWith("Cannot read the model signing key file ");
    }
}
