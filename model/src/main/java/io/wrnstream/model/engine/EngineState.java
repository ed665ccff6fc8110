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
 * 4       4     int    format version (2; version 1 had no forms field and was always in the canonical forms)
 * 8       4     int    L, length of the config JSON
 * 12      L     UTF-8  {@link TrainConfig} as JSON (Jackson, record components by name)
 *         8     long   steps taken
 *         8     long   training images seen
 *         4     int    forms: bit 0 set = BatchNorm running statistics hold the variance (else log10 of the
 *                      standard deviation), bit 1 set = the optimiser state is PyTorch's lr-free momentum buffer
 *                      (else DL4J's lr-carrying velocity); see {@link Forms}
 *         4     int    A, number of arrays (2: "params", then "updater")
 *         per array:
 *           4   int    name length N, then N bytes UTF-8 name
 *           4   int    rank R, then R longs: the shape
 *           4*n float32 values, n = product of the shape, row-major
 * </pre>
 * {@code params} is the network's flat parameter vector in DL4J's order (BatchNorm running statistics included),
 * {@code updater} the flat optimiser state (DL4J's Nesterov velocity; empty for plain SGD): the canonical layout
 * documented in {@link ParamLayout}, which every engine reads and writes. Two kinds of arrays have an engine's native
 * form ({@link Forms}): each engine writes its own, so that restoring on the same engine is bit-exact, and
 * {@link #inForms} converts (exactly the same way everywhere) when another engine reads it. No Java serialization.
 *
 * @param config the configuration the engine was built from
 * @param step steps taken
 * @param imagesSeen training images consumed
 * @param params flat parameter vector
 * @param updater flat optimiser state
 * @param forms how the running statistics and the momentum are held
 */
public record EngineState(TrainConfig config, long step, long imagesSeen, float[] params, float[] updater, Forms forms) {
    /** First four bytes of every snapshot. */
    public static final int MAGIC = 0x57524E53;
    /** The format version written by this code. */
    public static final int FORMAT_VERSION = 2;

    /**
     * The representation of the two kinds of arrays whose native form differs between engines.
     *
     * @param bnVariance BatchNorm running statistics as the variance (PyTorch) instead of {@code log10(std)} (DL4J)
     * @param momentumBuffer momentum as PyTorch's lr-free buffer {@code b} instead of DL4J's velocity {@code v = -lr*b}
     */
    public record Forms(boolean bnVariance, boolean momentumBuffer) {
        /** DL4J's forms, the canonical layout of {@link ParamLayout} (and of format version 1). */
        public static final Forms CANONICAL = new Forms(false, false);
        /** PyTorch's forms. */
        public static final Forms TORCH = new Forms(true, true);

        int bits() {
            return (bnVariance ? 1 : 0) | (momentumBuffer ? 2 : 0);
        }

        static Forms of(int bits) {
            if ((bits & ~3) != 0) throw new IllegalArgumentException("Corrupt engine snapshot: unknown forms bits " + bits);
            return new Forms((bits & 1) != 0, (bits & 2) != 0);
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    public EngineState {
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(params, "params");
        Objects.requireNonNull(updater, "updater");
        Objects.requireNonNull(forms, "forms");
    }

    /** A state in the canonical forms. */
    public EngineState(TrainConfig config, long step, long imagesSeen, float[] params, float[] updater) {
        this(config, step, imagesSeen, params, updater, Forms.CANONICAL);
    }

    /** The same state on another config (engine, precision), arrays shared. */
    public EngineState withConfig(TrainConfig c) {
        return new EngineState(c, step, imagesSeen, params, updater, forms);
    }

    /** This state in the canonical forms ({@link ParamLayout}): what engines compare. */
    public EngineState canonical() {
        return inForms(Forms.CANONICAL);
    }

    /**
     * This state with its running statistics and momentum in {@code target} forms: {@code var = 10^(2x)} and
     * {@code x = log10(var)/2}; {@code b = -v/lr} and {@code v = -lr*b} with the rate of the next step
     * ({@code learningRateAt(imagesSeen)}, 1 when that is 0). Exact while the rate is constant, up to float rounding.
     * Returns this state when the forms already agree.
     */
    public EngineState inForms(Forms target) {
        if (target.equals(forms)) return this;
        ParamLayout layout = ParamLayout.of(config.wrn());
        float[] p = params, u = updater;
        if (target.bnVariance() != forms.bnVariance()) {
            p = params.clone();
            for (ParamLayout.Entry e : layout.entries()) {
                if (e.kind() != ParamLayout.Kind.BN_LOG10_STD) continue;
                for (int i = (int) e.offset(), end = (int) (e.offset() + e.length()); i < end; i++) {
                    p[i] = target.bnVariance() ? (float) Math.pow(10, 2.0 * p[i]) : (float) (0.5 * Math.log10(p[i]));
                }
            }
        }
        if (target.momentumBuffer() != forms.momentumBuffer() && updater.length > 0) {
            double lr = config.optim().learningRateAt(imagesSeen);
            double rate = lr > 0 ? lr : 1.0;
            u = updater.clone();
            for (int i = 0; i < u.length; i++) u[i] = target.momentumBuffer() ? (float) (-u[i] / rate) : (float) (-rate * u[i]);
        }
        return new EngineState(config, step, imagesSeen, p, u, target);
    }

    /** Encodes this state in the documented layout. */
    public byte[] toBytes() {
        return encode(config, step, imagesSeen, forms, params.length, updater.length, (array, out) -> out.put(array == 0 ? params : updater));
    }

    /**
     * Writes one array's values, row-major, into {@code out} (a big-endian view of exactly that array's bytes in the
     * snapshot): {@code array} 0 is {@code params}, 1 is {@code updater}.
     */
    @FunctionalInterface
    public interface ArrayWriter {
        void write(int array, java.nio.FloatBuffer out);
    }

    /**
     * The bytes {@link #toBytes()} writes for a state with these counters and arrays of these lengths, the arrays'
     * values written by {@code writer} straight into the snapshot: an engine that holds its state natively encodes it
     * without a second full copy on the Java heap (for WRN-28-10 that copy is 292 MB).
     */
    public static byte[] encode(TrainConfig config, long step, long imagesSeen, Forms forms, long paramsLength, long updaterLength,
                                ArrayWriter writer) {
        byte[] json = configJson(config);
        byte[] pName = "params".getBytes(StandardCharsets.UTF_8);
        byte[] uName = "updater".getBytes(StandardCharsets.UTF_8);
        long size = 4 + 4 + 4 + json.length + 8 + 8 + 4 + 4
                + (4 + pName.length + 4 + 8 + 4L * paramsLength)
                + (4 + uName.length + 4 + 8 + 4L * updaterLength);
        if (size > Integer.MAX_VALUE - 16) {
            throw new IllegalStateException("Snapshot of " + size + " bytes exceeds the 2 GiB limit of a byte array");
        }
        ByteBuffer buf = ByteBuffer.allocate((int) size);
        buf.putInt(MAGIC).putInt(FORMAT_VERSION).putInt(json.length).put(json);
        buf.putLong(step).putLong(imagesSeen).putInt(forms.bits()).putInt(2);
        putArray(buf, pName, 0, paramsLength, writer);
        putArray(buf, uName, 1, updaterLength, writer);
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
            if (version != 1 && version != FORMAT_VERSION) {
                throw new IllegalArgumentException("Unsupported engine snapshot format version " + version
                        + ": this build reads versions 1 and " + FORMAT_VERSION);
            }
            byte[] json = new byte[buf.getInt()];
            buf.get(json);
            TrainConfig config = JSON.readValue(json, TrainConfig.class);
            long step = buf.getLong();
            long images = buf.getLong();
            Forms forms = version == 1 ? Forms.CANONICAL : Forms.of(buf.getInt());
            int arrays = buf.getInt();
            if (arrays != 2) {
                throw new IllegalArgumentException("Corrupt engine snapshot: " + arrays + " arrays, expected 2 (params, updater)");
            }
            float[] params = getArray(buf, "params");
            float[] updater = getArray(buf, "updater");
            return new EngineState(config, step, images, params, updater, forms);
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

    private static void putArray(ByteBuffer buf, byte[] name, int array, long length, ArrayWriter writer) {
        buf.putInt(name.length).put(name).putInt(1).putLong(length);
        java.nio.FloatBuffer values = buf.slice().limit(Math.toIntExact(4 * length)).asFloatBuffer();
        writer.write(array, values);
        if (values.position() != length) {
            throw new IllegalStateException("Snapshot array " + new String(name, StandardCharsets.UTF_8) + ": " + values.position()
                    + " values written, expected " + length);
        }
        buf.position(buf.position() + Math.toIntExact(4 * length));
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
