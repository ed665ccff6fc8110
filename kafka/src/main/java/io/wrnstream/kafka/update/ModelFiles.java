package io.wrnstream.kafka.update;

import io.wrnstream.model.io.ModelFile;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;

/**
 * Reads a published model file back, as a model update announced it: the reading side of the job's model store,
 * without Flink. Locations are {@code file:} URIs (a local folder or a mounted volume shared with the job).
 */
public final class ModelFiles {
    private ModelFiles() {}

    /** Largest model file {@link #read(String, long, String)} accepts: 1 GiB (WRN-28-10 with momentum is about 300 MB). */
    public static final long MAX_FILE_BYTES = 1L << 30;

    /**
     * Reads the file at {@code location} and checks its size and SHA-256, within {@link #MAX_FILE_BYTES}.
     *
     * @throws IllegalArgumentException when the location is not a {@code file:} URI, or the size or digest differ from the expected ones
     * @throws UncheckedIOException when it cannot be read
     */
    public static byte[] read(String location, long expectedSize, String expectedSha256) {
        return read(location, expectedSize, expectedSha256, MAX_FILE_BYTES);
    }

    /**
     * Reads the file at {@code location} and checks its size and SHA-256. The announced size is checked against
     * {@code maxBytes} and the file's length before reading, and the file is streamed into a buffer that grows with
     * the bytes actually read, so a forged size allocates nothing.
     *
     * @throws IllegalArgumentException when the location is not a {@code file:} URI, the size is above {@code maxBytes}, or
     *     the size or digest differ from the announced ones
     * @throws UncheckedIOException when it cannot be read
     */
    public static byte[] read(String location, long expectedSize, String expectedSha256, long maxBytes) {
        long bound = Math.min(maxBytes, Integer.MAX_VALUE - 16);
        if (expectedSize < 0 || expectedSize > bound) {
            throw new IllegalArgumentException("Invalid size " + expectedSize + " of model file " + location + ": must be in [0, "
                    + bound + "] bytes");
        }
        URI uri = URI.create(location);
        if (!"file".equals(uri.getScheme())) {
            throw new IllegalArgumentException("Invalid model location " + location + ": must be a file: URI (mount the model store)");
        }
        Path path = Path.of(uri);
        ByteArrayOutputStream buf = new ByteArrayOutputStream((int) Math.min(expectedSize, 1 << 20));
        MessageDigest digest = ModelFile.sha256();
        try {
            long actual = Files.size(path);
            if (actual != expectedSize) {
                throw new IllegalArgumentException("Model file " + location + " does not have the announced size of " + expectedSize
                        + " bytes (it has " + actual + "); not read");
            }
            try (InputStream in = Files.newInputStream(path)) {
                byte[] chunk = new byte[1 << 16];
                long total = 0;
                for (int n; (n = in.read(chunk)) >= 0; ) {
                    total += n;
                    if (total > expectedSize) break;
                    buf.write(chunk, 0, n);
                    digest.update(chunk, 0, n);
                }
                if (total != expectedSize) {
                    throw new IllegalArgumentException("Model file " + location + " does not have the announced size of " + expectedSize + " bytes");
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read model file " + location + ": " + e.getMessage(), e);
        }
        String sha = HexFormat.of().formatHex(digest.digest());
        if (!sha.equalsIgnoreCase(expectedSha256)) {
            throw new IllegalArgumentException("Model file " + location + " has SHA-256 " + sha + ", the update announced " + expectedSha256);
        }
        return buf.toByteArray();
    }
}
