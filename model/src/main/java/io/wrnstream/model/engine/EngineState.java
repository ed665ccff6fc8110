package io.wrnstream.model.engine;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * An in-memory copy of a training engine's complete state, taken cheaply by {@code snapshotState()} of either engine so
 * that the (slower) byte encoding can happen later or on another thread.
 *
 * <p>Byte layout of {@link #toBytes()}, big-endian, format version {@value #FORMAT_VERSION}:
 * <pre>
 * offset  size  field
 * 0       4     magic "WRNS" (0x57524E53)
 * 4       4     int    format version (1)
 * 8       4     int    L, length of the config JSON
 * 12      L     UTF-8  {@link TrainConfig} as JSON (Jackson, record components by name)
 *         8     long   steps taken
 *         8     long   training images seen
 *         4     int    A, number of arrays (2: "params", then "updater")
 *         per array:
 *           4   int    name length N, then N bytes UTF-8 name
 *           4   int    rank R, then R longs: the shape
 *           4*n float32 values, n = product of the shape, row-major
 * </pre>
 * {@code params} is the network's flat parameter vector in DL4J's order (BatchNorm running statistics included),
 * {@code updater} the flat optimiser state (DL4J's Nesterov velocity; empty for plain SGD): the canonical layout
 * documented in {@link ParamLayout}, which both engines read and write, so the config's engine only says which one
 * wrote it. No Java serialization.
 *
 * @param config the configuration the engine was built from
 * @param step steps taken
 * @param imagesSeen training images consumed
 * @param params flat parameter vector
 * @param updater flat optimiser state
 */
public record EngineState(TrainConfig config, long step, long imagesSeen, float[] params, float[] updater) {
    /** First four bytes of every snapshot. */
    public static final int MAGIC = 0x57524E53;
    /** The format version written by this code. */
    public static final int FORMAT_VERSION = 1;

    private static final ObjectMapper JSON = new ObjectMapper();

    public EngineState {
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(params, "params");
        Objects.requireNonNull(updater, "updater");
    }

    /** Encodes this state in the documented layout. */
    public byte[] toBytes() {
        byte[] json = configJson(config);
        byte[] pName = "params".getBytes(StandardCharsets.UTF_8);
        byte[] uName = "updater".getBytes(StandardCharsets.UTF_8);
        long size = 4 + 4 + 4 + json.length + 8 + 8 + 4
                + (4 + pName.length + 4 + 8 + 4L * params.length)
                + (4 + uName.length + 4 + 8 + 4L * updater.length);
        if (size > Integer.MAX_VALUE - 16) {
            throw new IllegalStateException("Snapshot of " + size + " bytes exceeds the 2 GiB limit of a byte array");
        }
        ByteBuffer buf = ByteBuffer.allocate((int) size);
        buf.putInt(MAGIC).putInt(FORMAT_VERSION).putInt(json.length).put(json);
        buf.putLong(step).putLong(imagesSeen).putInt(2);
        putArray(buf, pName, params);
        putArray(buf, uName, updater);
        return buf.array();
    }

    /**
     * Decodes bytes written by {@link #toBytes()}.
     *
     * @throws IllegalArgumentException if the bytes are not a snapshot, are truncated, or have an unknown version
     */
    public static EngineState fromBytes(byte[] bytes) {
        Objects.requireNonNull(bytes, "snapshot");
        ByteBuffer buf = ByteBuffer.wrap(bytes);
        try {
            int magic = buf.getInt();
            if (magic != MAGIC) {
                throw new IllegalArgumentException(String.format("Not a wrn-stream engine snapshot: magic 0x%08X, expected 0x%08X", magic, MAGIC));
            }
            int version = buf.getInt();
            if (version != FORMAT_VERSION) {
                throw new IllegalArgumentException("Unsupported engine snapshot format version " + version
                        + ": this build reads version " + FORMAT_VERSION);
            }
            byte[] json = new byte[buf.getInt()];
            buf.get(json);
            TrainConfig config = JSON.readValue(json, TrainConfig.class);
            long step = buf.getLong();
            long images = buf.getLong();
            int arrays = buf.getInt();
            if (arrays != 2) {
                throw new IllegalArgumentException("Corrupt engine snapshot: " + arrays + " arrays, expected 2 (params, updater)");
            }
            float[] params = getArray(buf, "params");
            float[] updater = getArray(buf, "updater");
            return new EngineState(config, step, images, params, updater);
        } catch (BufferUnderflowException | NegativeArraySizeException e) {
            throw new IllegalArgumentException("Corrupt engine snapshot: truncated after " + buf.position() + " of " + bytes.length + " bytes", e);
        } catch (IOException e) {
            throw new IllegalArgumentException("Corrupt engine snapshot: unreadable config JSON: " + e.getMessage(), e);
        }
    }

    /** The config as the JSON this format stores. */
    static byte[] configJson(TrainConfig config) {
        try {
            return JSON.writeValueAsBytes(config);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void putArray(ByteBuffer buf, byte[] name, float[] values) {
        buf.putInt(name.length).put(name).putInt(1).putLong(values.length);
        buf.asFloatBuffer().put(values);
        buf.position(buf.position() + 4 * values.length);
    }

    private static float[] getArray(ByteBuffer buf, String expected) {
        byte[] nameBytes = new byte[buf.getInt()];
        buf.get(nameBytes);
        String name = new String(nameBytes, StandardCharsets.UTF_8);
        if (!name.equals(expected)) {
            throw new IllegalArgumentException("Corrupt engine snapshot: array '" + name + "' where '" + expected + "' was expected");
        }
        int rank = buf.getInt();
        long n = 1;
        for (int i = 0; i < rank; i++) {
            n *= buf.getLong();
        }
        if (n < 0 || n * 4 > buf.remaining()) {
            throw new IllegalArgumentException("Corrupt engine snapshot: array '" + name + "' of " + n + " floats, only "
                    + buf.remaining() + " bytes left");
        }
        float[] values = new float[(int) n];
        buf.asFloatBuffer().get(values);
        buf.position(buf.position() + 4 * values.length);
        return values;
    }
}
