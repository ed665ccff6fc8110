package io.wrnstream.kafka.update;

import io.wrnstream.model.io.ModelFile;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Reads a published model file back, as a model update announced it: the reading side of the job's model store,
 * without Flink. Locations are {@code file:} URIs (a local folder or a mounted volume shared with the job).
 */
public final class ModelFiles {
    private ModelFiles() {}

    /**
     * Reads the file at {@code location} and checks its size and SHA-256.
     *
     * @throws IllegalArgumentException when the location is not a {@code file:} URI, or the size or digest differ from the expected ones
     * @throws UncheckedIOException when it cannot be read
     */
    public static byte[] read(String location, long expectedSize, String expectedSha256) {
        if (expectedSize < 0 || expectedSize > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("Invalid size " + expectedSize + " of model file " + location + ": must be in [0, 2 GiB)");
        }
        URI uri = URI.create(location);
        if (!"file".equals(uri.getScheme())) {
            throw new IllegalArgumentException("Invalid model location " + location + ": must be a file: URI (mount the model store)");
        }
        byte[] bytes = new byte[(int) expectedSize];
        try (InputStream in = Files.newInputStream(Path.of(uri))) {
            int off = 0;
            while (off < bytes.length) {
                int n = in.read(bytes, off, bytes.length - off);
                if (n < 0) break;
                off += n;
            }
            if (off < bytes.length || in.read() >= 0) {
                throw new IllegalArgumentException("Model file " + location + " does not have the announced size of " + expectedSize + " bytes");
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read model file " + location + ": " + e.getMessage(), e);
        }
        String sha = ModelFile.sha256(bytes);
        if (!sha.equalsIgnoreCase(expectedSha256)) {
            throw new IllegalArgumentException("Model file " + location + " has SHA-256 " + sha + ", the update announced " + expectedSha256);
        }
        return bytes;
    }
}
