package io.wrnstream.model.io;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.wrnstream.model.engine.Engines;
import io.wrnstream.model.engine.TrainConfig;
import io.wrnstream.model.engine.TrainingEngine;
import com.fasterxml.jackson.core.JacksonException;
import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.security.DigestInputStream;
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
 * 4   4   int   format version (2)
 * 8   4   int   L, length of the provenance JSON (at most 1 MiB)
 * 12  L   UTF-8 {@link Provenance} as JSON
 *     8   long  S, snapshot length
 *     S   bytes engine snapshot (its own versioned layout, see {@code EngineState})
 *     32  bytes SHA-256 of every byte before it: the whole file, provenance included
 * </pre>
 * Version 1 had no trailing digest, so its provenance could be edited unnoticed; it is refused. Writing goes to a
 * temporary file in the same folder, then an atomic rename, so a reader never sees half a file. Reading streams the
 * file, checks each announced length against the bytes that can still follow before allocating for it, then checks
 * the file's digest and the snapshot's SHA-256 against the provenance.
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
    public static final int FORMAT_VERSION = 2;
    /** Largest provenance JSON a reader accepts. */
    public static final int MAX_PROVENANCE_BYTES = 1 << 20;
    /** Bytes of the trailing SHA-256. */
    static final int DIGEST_BYTES = 32;

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
        ByteBuffer out = ByteBuffer.allocate(4 + 4 + 4 + json.length + 8 + snapshot.length + DIGEST_BYTES);
        out.putInt(MAGIC).putInt(FORMAT_VERSION).putInt(json.length).put(json).putLong(snapshot.length).put(snapshot);
        MessageDigest d = sha256();
        d.update(out.array(), 0, out.position());
        out.put(d.digest());
        return out.array();
    }

    /** Provenance of {@code snapshot} bytes as the streaming job writes it: {@code config} is the engine's configuration. */
    public static Provenance provenance(TrainConfig config, long step, long imagesSeen, byte[] snapshot) {
        return new Provenance(config, config.data(), config.seed(), version(), Instant.now().toString(), step, imagesSeen, sha256(snapshot));
    }

    /**
     * Reads and verifies a model file, streaming it.
     *
     * @throws IllegalArgumentException if it is not a model file, has an unknown version, is truncated or corrupt
     */
    public static Loaded load(Path path) {
        try (InputStream in = Files.newInputStream(path)) {
            return read(in, Files.size(path), path.toString());
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read model file " + path, e);
        }
    }

    /**
     * Parses and verifies the content of a model file; {@code source} names it in errors.
     *
     * @throws IllegalArgumentException if it is not a model file, has an unknown version, is truncated or corrupt
     */
    public static Loaded read(byte[] bytes, String source) {
        try {
            return read(new ByteArrayInputStream(bytes), bytes.length, source);
        } catch (IOException e) {
            throw new UncheckedIOException(e); // a byte array does not fail to read
        }
    }

    /**
     * Reads and verifies a model file of at most {@code maxBytes} from {@code in}: every length the file announces is
     * checked against what may still follow before anything is allocated for it.
     *
     * @throws IllegalArgumentException if it is not a model file, has an unknown version, is larger than
     *     {@code maxBytes}, truncated or corrupt
     * @throws IOException when {@code in} fails
     */
    public static Loaded read(InputStream in, long maxBytes, String source) throws IOException {
        Object path = source;
        MessageDigest digest = sha256();
        DigestInputStream din = new DigestInputStream(in, digest);
        DataInputStream data = new DataInputStream(din);
        try {
            int magic = data.readInt();
            if (magic != MAGIC) {
                throw new IllegalArgumentException(String.format("%s is not a wrn-stream model file: magic 0x%08X, expected 0x%08X", path, magic, MAGIC));
            }
            int version = data.readInt();
            if (version != FORMAT_VERSION) {
                throw new IllegalArgumentException("Unsupported model file format version " + version + " in " + path
                        + ": this build reads version " + FORMAT_VERSION);
            }
            long left = maxBytes - 12;
            int jsonLength = data.readInt();
            if (jsonLength < 0 || jsonLength > MAX_PROVENANCE_BYTES || jsonLength > left) {
                throw new IllegalArgumentException("Corrupt model file " + path + ": provenance of " + jsonLength
                        + " bytes announced, at most " + Math.min(MAX_PROVENANCE_BYTES, Math.max(0, left)) + " allowed");
            }
            byte[] json = new byte[jsonLength];
            data.readFully(json);
            left -= jsonLength + 8 + DIGEST_BYTES;
            long length = data.readLong();
            if (length < 0 || length > left || length > Integer.MAX_VALUE - 8) {
                throw new IllegalArgumentException("Corrupt model file " + path + ": snapshot of " + length + " bytes declared, "
                        + Math.max(0, left) + " present");
            }
            byte[] snapshot = new byte[(int) length];
            data.readFully(snapshot);
            byte[] expected = digest.digest();
            din.on(false);
            byte[] recorded = new byte[DIGEST_BYTES];
            data.readFully(recorded);
            if (data.read() >= 0) {
                throw new IllegalArgumentException("Corrupt model file " + path + ": bytes after its digest");
            }
            if (!MessageDigest.isEqual(expected, recorded)) {
                throw new IllegalArgumentException("Corrupt model file " + path + ": SHA-256 of the file " + HexFormat.of().formatHex(expected)
                        + " does not match " + HexFormat.of().formatHex(recorded) + " recorded at its end");
            }
            Provenance p = JSON.readValue(json, Provenance.class);
            String sha = sha256(snapshot);
            if (!sha.equals(p.sha256())) {
                throw new IllegalArgumentException("Corrupt model file " + path + ": snapshot SHA-256 " + sha + " does not match "
                        + p.sha256() + " recorded at save");
            }
            return new Loaded(p, snapshot);
        } catch (EOFException e) {
            throw new IllegalArgumentException("Corrupt model file " + path + ": truncated", e);
        } catch (JacksonException e) {
            throw new IllegalArgumentException("Corrupt model file " + path + ": unreadable provenance: " + e.getOriginalMessage(), e);
        }
    }

    /** Hex SHA-256 of {@code bytes}. */
    public static String sha256(byte[] bytes) {
        return HexFormat.of().formatHex(sha256().digest(bytes));
    }

    /** A fresh SHA-256 digest. */
    public static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
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
