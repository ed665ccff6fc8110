package io.wrnstream.jobs.train;

import io.wrnstream.model.augment.Normalization;

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
 * 1     version = 2
 * 8     checkpoint id
 * 8     step
 * 8     images seen
 * 8     snapshot version
 * 8     last snapshot step
 * 8     training nanos
 * 1     finished (0/1)
 * 4     engine snapshot length n, then n bytes (the engine's own versioned format)
 * 4     pending images p, then p times: i64 id, i32 epoch, i32 label, i32 m, m u8 (augmented pixels, CHW)
 * </pre>
 * Version 1 stored the pending images as m normalised f32; it is still read, its floats mapped back to the bytes they
 * were normalised from (exactly: the normalisation is one table of 256 values per channel, strictly increasing).
 * An unknown version fails naming it; a new layout gets a new version and this reader keeps reading the old ones.
 */
public final class TrainerStateSerializer {
    /** Magic bytes at the start of every trainer state. */
    public static final byte[] MAGIC = {'W', 'R', 'N', 'T'};
    /** The version written. */
    public static final int VERSION = 2;
    /** The first layout: pending images as normalised floats. */
    static final int VERSION_FLOAT_PIXELS = 1;

    private TrainerStateSerializer() {}

    /** Serialises {@code s} in the current version. */
    public static byte[] serialize(TrainerState s) {
        int pixels = s.pending().stream().mapToInt(a -> a.pixels().length).sum();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(64 + s.engine().length + 20 * s.pending().size() + pixels);
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
                out.writeInt(a.pixels().length);
                out.write(a.pixels());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e); // cannot happen on a byte array
        }
        return bytes.toByteArray();
    }

    /**
     * Reads a state written by {@link #serialize} (or by version 1, whose pending floats are mapped back to bytes with
     * the normalisation of {@code channels}-channel images, {@link Normalization#forChannels}).
     *
     * @throws IllegalArgumentException when the bytes are not a trainer state, of an unknown version, or truncated
     */
    public static TrainerState deserialize(byte[] bytes, int channels) {
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes))) {
            byte[] magic = new byte[4];
            in.readFully(magic);
            if (magic[0] != MAGIC[0] || magic[1] != MAGIC[1] || magic[2] != MAGIC[2] || magic[3] != MAGIC[3]) {
                throw new IllegalArgumentException("Not a trainer state: bad magic bytes (expected \"WRNT\")");
            }
            int version = in.readUnsignedByte();
            if (version != VERSION && version != VERSION_FLOAT_PIXELS) {
                throw new IllegalArgumentException("Unknown trainer state version " + version + ": this build reads versions "
                        + VERSION_FLOAT_PIXELS + " and " + VERSION + "; restore with the build that wrote it or start a new job");
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
                byte[] px;
                if (version == VERSION_FLOAT_PIXELS) {
                    if (m < 0 || m > bytes.length / 4) throw new IllegalArgumentException("Corrupt trainer state: image of " + m + " floats");
                    float[] x = new float[m];
                    for (int j = 0; j < m; j++) x[j] = in.readFloat();
                    px = pixelsOf(x, channels, id);
                } else {
                    if (m < 0 || m > bytes.length) throw new IllegalArgumentException("Corrupt trainer state: image of " + m + " pixels");
                    px = new byte[m];
                    in.readFully(px);
                }
                pending.add(new AugmentedImage(id, epoch, label, px));
            }
            if (in.read() != -1) throw new IllegalArgumentException("Corrupt trainer state: trailing bytes");
            return new TrainerState(checkpointId, engine, step, images, snapshotVersion, lastSnapshotStep, nanos, finished, pending);
        } catch (EOFException e) {
            throw new IllegalArgumentException("Corrupt trainer state: truncated (" + bytes.length + " bytes)", e);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The bytes a version-1 image of normalised floats came from: each float looked up in its channel's table. */
    private static byte[] pixelsOf(float[] x, int channels, long id) {
        Normalization n = Normalization.forChannels(channels);
        if (x.length % channels != 0) {
            throw new IllegalArgumentException("Corrupt trainer state: image " + id + " of " + x.length + " floats is not " + channels + " channels");
        }
        float[][] lut = n.table();
        int plane = x.length / channels;
        byte[] px = new byte[x.length];
        for (int i = 0; i < x.length; i++) {
            float[] table = lut[i / plane];
            int v = java.util.Arrays.binarySearch(table, x[i]);
            if (v < 0) {
                throw new IllegalArgumentException("Trainer state version 1: pending image " + id + " holds " + x[i]
                        + ", which the " + channels + "-channel normalisation does not produce from any byte");
            }
            px[i] = (byte) v;
        }
        return px;
    }
}
