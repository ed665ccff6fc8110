package io.wrnstream.model.io;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.wrnstream.model.engine.Engines;
import io.wrnstream.model.engine.TrainConfig;
import io.wrnstream.model.engine.TrainingEngine;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.HexFormat;

/**
 * A trained model on disk: the engine snapshot ({@link TrainingEngine#snapshot()}) plus its provenance.
 *
 * <p>Layout, big-endian, format version {@value #FORMAT_VERSION}:
 * <pre>
 * 0   4   magic "WRNM" (0x57524E4D)
 * 4   4   int   format version (1)
 * 8   4   int   L, length of the provenance JSON
 * 12  L   UTF-8 {@link Provenance} as JSON
 *     8   long  S, snapshot length
 *     S   bytes engine snapshot (its own versioned layout, see {@code EngineState})
 * </pre>
 * Writing goes to a temporary file in the same folder, then an atomic rename, so a reader never sees half a file.
 * Loading checks the SHA-256 of the snapshot against the provenance.
 *
 * <pre>{@code
 * ModelFile.save(engine, Path.of("wrn-16-4.wrnm"));
 * try (TrainingEngine again = ModelFile.load(Path.of("wrn-16-4.wrnm")).engine()) { again.trainStep(batch); }
 * }</pre>
 */
public final class ModelFile {
    /** First four bytes of a model file. */
    public static final int MAGIC = 0x57524E4D;
    /** The format version written by this code. */
    public static final int FORMAT_VERSION = 1;

    private static final ObjectMapper JSON = new ObjectMapper();

    private ModelFile() {}

    /**
     * Where a model came from.
     *
     * @param config the full training configuration
     * @param data description of the training data
     * @param seed the master seed
     * @param version wrn-stream version that wrote the file
     * @param created creation time, ISO-8601 UTC
     * @param steps steps trained
     * @param imagesSeen training images seen
     * @param sha256 hex SHA-256 of the snapshot bytes
     */
    public record Provenance(TrainConfig config, String data, long seed, String version, String created, long steps,
                             long imagesSeen, String sha256) {}

    /** A loaded model file: provenance and the verified snapshot bytes. */
    public record Loaded(Provenance provenance, byte[] snapshot) {
        /** A training engine that continues exactly where the saved one stopped. */
        public TrainingEngine engine() {
            return Engines.restore(snapshot);
        }
    }

    /** Snapshots {@code engine} and writes it to {@code path} atomically; returns the provenance written. */
    public static Provenance save(TrainingEngine engine, Path path) {
        byte[] snapshot = engine.snapshot();
        TrainConfig c = engine.config();
        Provenance p = new Provenance(c, c.data(), c.seed(), version(), Instant.now().toString(), engine.step(),
                engine.imagesSeen(), sha256(snapshot));
        write(p, snapshot, path);
        return p;
    }

    /** Writes {@code snapshot} with provenance {@code p} to {@code path} atomically. */
    public static void write(Provenance p, byte[] snapshot, Path path) {
        try {
            byte[] bytes = toBytes(p, snapshot);
            Path dir = path.toAbsolutePath().getParent();
            Files.createDirectories(dir);
            Path tmp = Files.createTempFile(dir, path.getFileName().toString(), ".tmp");
            try {
                Files.write(tmp, bytes);
                try {
                    Files.move(tmp, path, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                } catch (AtomicMoveNotSupportedException e) {
                    Files.move(tmp, path, StandardCopyOption.REPLACE_EXISTING);
                }
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot write model file " + path, e);
        }
    }

    /** The complete file content for {@code snapshot} with provenance {@code p} (for stores that are not local paths). */
    public static byte[] toBytes(Provenance p, byte[] snapshot) {
        byte[] json;
        try {
            json = JSON.writeValueAsBytes(p);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot encode the provenance of a model file", e);
        }
        ByteBuffer out = ByteBuffer.allocate(4 + 4 + 4 + json.length + 8 + snapshot.length);
        out.putInt(MAGIC).putInt(FORMAT_VERSION).putInt(json.length).put(json).putLong(snapshot.length).put(snapshot);
        return out.array();
    }

    /** Provenance of {@code snapshot} bytes as the streaming job writes it: {@code config} is the engine's configuration. */
    public static Provenance provenance(TrainConfig config, long step, long imagesSeen, byte[] snapshot) {
        return new Provenance(config, config.data(), config.seed(), version(), Instant.now().toString(), step, imagesSeen, sha256(snapshot));
    }

    /**
     * Reads and verifies a model file.
     *
     * @throws IllegalArgumentException if it is not a model file, has an unknown version, is truncated or corrupt
     */
    public static Loaded load(Path path) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(path);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read model file " + path, e);
        }
        return read(bytes, path.toString());
    }

    /**
     * Parses and verifies the content of a model file; {@code source} names it in errors.
     *
     * @throws IllegalArgumentException if it is not a model file, has an unknown version, is truncated or corrupt
     */
    public static Loaded read(byte[] bytes, String source) {
        Object path = source;
        ByteBuffer buf = ByteBuffer.wrap(bytes);
        try {
            int magic = buf.getInt();
            if (magic != MAGIC) {
                throw new IllegalArgumentException(String.format("%s is not a wrn-stream model file: magic 0x%08X, expected 0x%08X", path, magic, MAGIC));
            }
            int version = buf.getInt();
            if (version != FORMAT_VERSION) {
                throw new IllegalArgumentException("Unsupported model file format version " + version + " in " + path
                        + ": this build reads version " + FORMAT_VERSION);
            }
            byte[] json = new byte[buf.getInt()];
            buf.get(json);
            Provenance p = JSON.readValue(json, Provenance.class);
            long length = buf.getLong();
            if (length != buf.remaining()) {
                throw new IllegalArgumentException("Corrupt model file " + path + ": snapshot of " + length + " bytes declared, "
                        + buf.remaining() + " present");
            }
            byte[] snapshot = new byte[(int) length];
            buf.get(snapshot);
            String sha = sha256(snapshot);
            if (!sha.equals(p.sha256())) {
                throw new IllegalArgumentException("Corrupt model file " + path + ": snapshot SHA-256 " + sha + " does not match "
                        + p.sha256() + " recorded at save");
            }
            return new Loaded(p, snapshot);
        } catch (BufferUnderflowException | NegativeArraySizeException e) {
            throw new IllegalArgumentException("Corrupt model file " + path + ": truncated", e);
        } catch (IOException e) {
            throw new IllegalArgumentException("Corrupt model file " + path + ": unreadable provenance: " + e.getMessage(), e);
        }
    }

    /** Hex SHA-256 of {@code bytes}. */
    public static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 missing from this JVM", e);
        }
    }

    /** The wrn-stream version from the jar manifest, or {@code dev} when run from classes. */
    static String version() {
        String v = ModelFile.class.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
    }
}
