package io.wrnstream.jobs.train;

import io.wrnstream.jobs.augment.AugmentedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The byte layout of {@link TrainerState} in Flink operator state (stored as one {@code byte[]} element of a
 * {@code ListState} with Flink's {@code BytePrimitiveArraySerializer}, so neither Kryo nor Java serialisation is
 * involved). All integers big-endian.
 *
 * <pre>
 * size  field
 * 4     magic "WRNT"
 * 1     version = 1
 * 8     checkpoint id
 * 8     step
 * 8     images seen
 * 8     snapshot version
 * 8     last snapshot step
 * 8     training nanos
 * 1     finished (0/1)
 * 4     engine snapshot length n, then n bytes (the engine's own versioned format)
 * 4     pending images p, then p times: i64 id, i32 epoch, i32 label, i32 m, m f32 (CHW)
 * </pre>
 * An unknown version fails naming it; a new layout gets a new version and this reader keeps reading the old ones.
 */
public final class TrainerStateSerializer {
    /** Magic bytes at the start of every trainer state. */
    public static final byte[] MAGIC = {'W', 'R', 'N', 'T'};
    /** The version written. */
    public static final int VERSION = 1;

    private TrainerStateSerializer() {}

    /** Serialises {@code s} in the current version. */
    public static byte[] serialize(TrainerState s) {
        int floats = s.pending().stream().mapToInt(a -> a.x().length).sum();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(64 + s.engine().length + 20 * s.pending().size() + 4 * floats);
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.write(MAGIC);
            out.writeByte(VERSION);
            out.writeLong(s.checkpointId());
            out.writeLong(s.step());
            out.writeLong(s.imagesSeen());
            out.writeLong(s.snapshotVersion());
            out.writeLong(s.lastSnapshotStep());
            out.writeLong(s.trainingNanos());
            out.writeBoolean(s.finished());
            out.writeInt(s.engine().length);
            out.write(s.engine());
            out.writeInt(s.pending().size());
            for (AugmentedImage a : s.pending()) {
                out.writeLong(a.id());
                out.writeInt(a.epoch());
                out.writeInt(a.label());
                out.writeInt(a.x().length);
                for (float f : a.x()) out.writeFloat(f);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e); // cannot happen on a byte array
        }
        return bytes.toByteArray();
    }

    /**
     * Reads a state written by {@link #serialize}.
     *
     * @throws IllegalArgumentException when the bytes are not a trainer state, of an unknown version, or truncated
     */
    public static TrainerState deserialize(byte[] bytes) {
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes))) {
            byte[] magic = new byte[4];
            in.readFully(magic);
            if (magic[0] != MAGIC[0] || magic[1] != MAGIC[1] || magic[2] != MAGIC[2] || magic[3] != MAGIC[3]) {
                throw new IllegalArgumentException("Not a trainer state: bad magic bytes (expected \"WRNT\")");
            }
            int version = in.readUnsignedByte();
            if (version != VERSION) {
                throw new IllegalArgumentException("Unknown trainer state version " + version + ": this build reads version " + VERSION
                        + " only; restore with the build that wrote it or start a new job");
            }
            long checkpointId = in.readLong();
            long step = in.readLong();
            long images = in.readLong();
            long snapshotVersion = in.readLong();
            long lastSnapshotStep = in.readLong();
            long nanos = in.readLong();
            boolean finished = in.readBoolean();
            int n = in.readInt();
            if (n < 0 || n > bytes.length) throw new IllegalArgumentException("Corrupt trainer state: engine snapshot length " + n);
            byte[] engine = new byte[n];
            in.readFully(engine);
            int p = in.readInt();
            if (p < 0 || p > bytes.length / 20) throw new IllegalArgumentException("Corrupt trainer state: pending count " + p);
            List<AugmentedImage> pending = new ArrayList<>(p);
            for (int i = 0; i < p; i++) {
                long id = in.readLong();
                int epoch = in.readInt();
                int label = in.readInt();
                int m = in.readInt();
                if (m < 0 || m > bytes.length / 4) throw new IllegalArgumentException("Corrupt trainer state: image of " + m + " floats");
                float[] x = new float[m];
                for (int j = 0; j < m; j++) x[j] = in.readFloat();
                pending.add(new AugmentedImage(id, epoch, label, x));
            }
            if (in.read() != -1) throw new IllegalArgumentException("Corrupt trainer state: trailing bytes");
            return new TrainerState(checkpointId, engine, step, images, snapshotVersion, lastSnapshotStep, nanos, finished, pending);
        } catch (EOFException e) {
            throw new IllegalArgumentException("Corrupt trainer state: truncated (" + bytes.length + " bytes)", e);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
