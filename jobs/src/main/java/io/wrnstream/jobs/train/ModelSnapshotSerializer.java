package io.wrnstream.jobs.train;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;

/**
 * Byte layout of a {@link ModelSnapshot} kept in the evaluator's operator state, big-endian:
 * magic "WRNS", u8 version = 1, i64 version, i64 step, i64 images seen, f64 epochs, i64 wall ms,
 * i32 n, n bytes engine snapshot.
 */
public final class ModelSnapshotSerializer {
    /** The version written. */
    public static final int VERSION = 1;
    private static final int MAGIC = 0x57524E53; // "WRNS"

    private ModelSnapshotSerializer() {}

    /** Serialises {@code s}. */
    public static byte[] serialize(ModelSnapshot s) {
        ByteBuffer b = ByteBuffer.allocate(4 + 1 + 8 * 5 + 4 + s.engine().length);
        b.putInt(MAGIC).put((byte) VERSION).putLong(s.version()).putLong(s.step()).putLong(s.imagesSeen()).putDouble(s.epochs())
                .putLong(s.wallMs()).putInt(s.engine().length).put(s.engine());
        return b.array();
    }

    /** Reads {@link #serialize} output; fails naming an unknown version. */
    public static ModelSnapshot deserialize(byte[] bytes) {
        try {
            ByteBuffer b = ByteBuffer.wrap(bytes);
            if (b.getInt() != MAGIC) throw new IllegalArgumentException("Not a model snapshot: bad magic bytes (expected \"WRNS\")");
            int v = b.get() & 0xFF;
            if (v != VERSION) throw new IllegalArgumentException("Unknown model snapshot version " + v + ": this build reads version " + VERSION);
            long version = b.getLong(), step = b.getLong(), images = b.getLong();
            double epochs = b.getDouble();
            long wall = b.getLong();
            int n = b.getInt();
            if (n != b.remaining()) throw new IllegalArgumentException("Corrupt model snapshot: " + n + " engine bytes declared, " + b.remaining() + " present");
            byte[] engine = new byte[n];
            b.get(engine);
            return new ModelSnapshot(version, step, images, epochs, wall, engine);
        } catch (BufferUnderflowException e) {
            throw new IllegalArgumentException("Corrupt model snapshot: truncated (" + bytes.length + " bytes)", e);
        }
    }
}
