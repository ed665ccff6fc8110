package io.wrnstream.jobs.train;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * One data-parallel rank's entry of the trainer's union state: its rank, the group size and its {@link TrainerState}
 * (whose engine bytes are empty unless this rank took the checkpoint's barrier last and so stored the model).
 *
 * <pre>
 * size  field
 * 4     magic "WRNR"
 * 1     version = 1
 * 4     rank
 * 4     ranks
 * 8     trained digest (of the stored model; see TrainerEvent#digestOf)
 * 4     n, then n bytes: the {@link TrainerStateSerializer} layout
 * </pre>
 *
 * @param rank the rank that wrote it
 * @param ranks trainer.parallelism when it was written
 * @param trainedDigest the digest of the sample ids the stored model was trained on (meaningful with the model)
 * @param state its trainer state
 */
public record RankState(int rank, int ranks, long trainedDigest, TrainerState state) {
    private static final byte[] MAGIC = {'W', 'R', 'N', 'R'};
    /** The version written. */
    public static final int VERSION = 1;

    /** The bytes of {@code s}. */
    public static byte[] serialize(RankState s) {
        byte[] inner = TrainerStateSerializer.serialize(s.state());
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(inner.length + 17);
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.write(MAGIC);
            out.writeByte(VERSION);
            out.writeInt(s.rank());
            out.writeInt(s.ranks());
            out.writeLong(s.trainedDigest());
            out.writeInt(inner.length);
            out.write(inner);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    /**
     * Reads {@link #serialize} output.
     *
     * @throws IllegalArgumentException when the bytes are not a rank state or of an unknown version
     */
    public static RankState deserialize(byte[] bytes, int channels) {
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes))) {
            byte[] magic = new byte[4];
            in.readFully(magic);
            if (!java.util.Arrays.equals(magic, MAGIC)) throw new IllegalArgumentException("Not a trainer rank state: bad magic bytes (expected \"WRNR\")");
            int version = in.readUnsignedByte();
            if (version != VERSION) throw new IllegalArgumentException("Unknown trainer rank state version " + version + ": this build reads " + VERSION);
            int rank = in.readInt(), ranks = in.readInt();
            long digest = in.readLong();
            int n = in.readInt();
            if (n < 0 || n > bytes.length) throw new IllegalArgumentException("Corrupt trainer rank state: length " + n);
            byte[] inner = new byte[n];
            in.readFully(inner);
            return new RankState(rank, ranks, digest, TrainerStateSerializer.deserialize(inner, channels));
        } catch (IOException e) {
            throw new IllegalArgumentException("Corrupt trainer rank state: truncated (" + bytes.length + " bytes)", e);
        }
    }
}
