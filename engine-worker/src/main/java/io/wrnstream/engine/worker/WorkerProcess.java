package io.wrnstream.engine.worker;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * One PyTorch worker process ({@code wrn_worker.py}) and its Unix domain socket: requests and replies framed as
 * {@code u32 header length, JSON header (Jackson), payload of little-endian float32/int32 arrays}, the protocol the
 * script's docstring documents, versioned ({@value #PROTOCOL}: the worker names its version in its hello and a
 * worker of another version is refused). A step's batch goes through a shared file in {@code /dev/shm} that both map (one
 * copy into it here, a zero-copy tensor over it in the worker); parameters stream over the socket through one 1 MiB
 * direct buffer, so WRN-28-10's 146 MB cross without a second copy of them on the heap.
 */
final class WorkerProcess implements AutoCloseable {
    /** System property naming the Python interpreter to run the worker with (else {@code WRN_WORKER_PYTHON}, else a search). */
    static final String PYTHON_PROPERTY = "wrn.worker.python";
    /** The JVM-worker protocol this class speaks; {@code wrn_worker.py}'s {@code PROTOCOL} must be the same. */
    static final String PROTOCOL = "wrn-stream.worker/2";
    /** How long a worker may take to start and connect (importing torch on a cold disk takes a few seconds). */
    static final long START_TIMEOUT_MS = 120_000;
    /** Python's json writes a non-finite loss as NaN or Infinity. */
    private static final ObjectMapper JSON = com.fasterxml.jackson.databind.json.JsonMapper.builder()
            .enable(com.fasterxml.jackson.core.json.JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS).build();
    private static final int CHUNK = 1 << 20;
    private static final int MAX_HEADER = 1 << 24;

    private final Process process;
    private final SocketChannel channel;
    private final Path dir;
    private final Path log;
    private final ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK).order(ByteOrder.LITTLE_ENDIAN);
    private final boolean shmEnabled = Boolean.parseBoolean(System.getProperty(SHM_PROPERTY, "true"));
    private Path shmFile;
    private long shmSize;
    private MappedByteBuffer shmBuffer;
    private boolean closed;

    /** System property: batches through shared memory ({@code true}, the default) or over the socket ({@code false}). */
    static final String SHM_PROPERTY = "wrn.worker.shm";
    /** Smaller payloads go over the socket: a mapping is not worth it. */
    private static final long SHM_MIN_BYTES = 64 << 10;
    /** Bound on the shared file (a batch of 512 CIFAR images is 6 MiB). */
    private static final long SHM_MAX_BYTES = 1L << 30;

    /** The shared mapping, grown (a new file, so the worker remaps) when {@code bytes} does not fit. */
    private MappedByteBuffer shm(long bytes) throws IOException {
        if (shmBuffer == null || shmSize < bytes) {
            if (shmFile != null) Files.deleteIfExists(shmFile);
            Path base = Files.isDirectory(Path.of("/dev/shm")) && Files.isWritable(Path.of("/dev/shm")) ? Path.of("/dev/shm") : dir;
            shmFile = Files.createTempFile(base, "wrn-worker-", ".shm");
            shmSize = Math.max(bytes, 1 << 20);
            try (FileChannel ch = FileChannel.open(shmFile, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                shmBuffer = ch.map(FileChannel.MapMode.READ_WRITE, 0, shmSize);
            }
            shmBuffer.order(ByteOrder.LITTLE_ENDIAN);
        }
        return shmBuffer;
    }

    private WorkerProcess(Process process, SocketChannel channel, Path dir, Path log) {
        this.process = process;
        this.channel = channel;
        this.dir = dir;
        this.log = log;
    }

    /** The interpreters to try, in order: the configured one only, or {@code python3} on the PATH then {@code /usr/bin/python3}. */
    static List<String> pythonCandidates() {
        String configured = System.getProperty(PYTHON_PROPERTY, System.getenv("WRN_WORKER_PYTHON"));
        if (configured != null && !configured.isBlank()) return List.of(configured.trim());
        Set<String> c = new LinkedHashSet<>();
        c.add("python3");
        c.add("/usr/bin/python3");
        return List.copyOf(c);
    }

    /**
     * Starts a worker with the first candidate interpreter that has PyTorch.
     *
     * @throws IllegalStateException naming every interpreter tried and why it did not serve
     */
    static WorkerProcess start() {
        List<String> reasons = new ArrayList<>();
        for (String python : pythonCandidates()) {
            try {
                WorkerProcess w = start(python);
                if (w != null) return w;
            } catch (IOException | IllegalStateException e) {
                reasons.add(python + ": " + e.getMessage());
                continue;
            }
        }
        throw new IllegalStateException("No Python with PyTorch for the worker engine (tried " + String.join("; ", reasons)
                + "). Install PyTorch or name an interpreter with -D" + PYTHON_PROPERTY + "=... or WRN_WORKER_PYTHON.");
    }

    private static WorkerProcess start(String python) throws IOException {
        Path dir = Files.createTempDirectory("wrn-worker");
        Path script = dir.resolve("wrn_worker.py");
        try (InputStream in = WorkerProcess.class.getResourceAsStream("wrn_worker.py")) {
            if (in == null) throw new IllegalStateException("wrn_worker.py missing from the classpath");
            Files.copy(in, script);
        }
        Path socket = dir.resolve("s");
        Path log = dir.resolve("worker.log");
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        Process p = null;
        try (server; Selector selector = Selector.open()) {
            server.bind(UnixDomainSocketAddress.of(socket));
            server.configureBlocking(false);
            server.register(selector, SelectionKey.OP_ACCEPT);
            ProcessBuilder pb = new ProcessBuilder(python, "-u", script.toString(), socket.toString())
                    .redirectErrorStream(true).redirectOutput(log.toFile());
            pb.environment().putIfAbsent("PYTHONDONTWRITEBYTECODE", "1");
            try {
                p = pb.start();
            } catch (IOException e) {
                deleteQuietly(dir);
                throw new IOException("cannot run it (" + e.getMessage() + ")", e);
            }
            long deadline = System.currentTimeMillis() + START_TIMEOUT_MS;
            SocketChannel ch = null;
            while (ch == null) {
                if (!p.isAlive()) throw new IllegalStateException("exited with status " + p.exitValue() + tail(log));
                if (System.currentTimeMillis() > deadline) throw new IllegalStateException("did not connect within " + START_TIMEOUT_MS / 1000 + " s" + tail(log));
                if (selector.select(200) > 0) ch = server.accept();
                selector.selectedKeys().clear();
            }
            ch.configureBlocking(true);
            WorkerProcess w = new WorkerProcess(p, ch, dir, log);
            return w.probe();
        } catch (IOException | RuntimeException e) {
            if (p != null) p.destroyForcibly();
            deleteQuietly(dir);
            throw e;
        }
    }

    /** Reads the worker's hello: it says whether {@code import torch} worked (else the next interpreter is tried). */
    private WorkerProcess probe() throws IOException {
        JsonNode hello = readHeader();
        skip(hello.path("bytes").asLong(0));
        if (!hello.path("ok").asBoolean(false)) {
            close();
            throw new IllegalStateException(hello.path("error").asText("no PyTorch"));
        }
        String protocol = hello.path("protocol").asText("wrn-stream.worker/1");
        if (!PROTOCOL.equals(protocol)) {
            close();
            throw new IllegalStateException("the worker speaks protocol " + protocol + ", this JVM " + PROTOCOL
                    + " (a wrn_worker.py from another build?)");
        }
        return this;
    }

    /**
     * Sends {@code header} with the arrays of {@code inputs} ({@code float[]} or {@code int[]}) as payload and reads
     * the reply, filling {@code outputs} in order from its payload.
     *
     * @return the reply header
     * @throws IllegalStateException when the worker reports a failure (its message) or has died (its output's tail)
     */
    synchronized JsonNode call(Map<String, ?> header, List<?> inputs, List<float[]> outputs) {
        if (closed) throw new IllegalStateException("Worker is closed");
        try {
            long bytes = 0;
            for (Object a : inputs) bytes += 4L * (a instanceof float[] f ? f.length : ((int[]) a).length);
            Map<String, Object> h = new LinkedHashMap<>(header);
            // Per-step batches go through shared memory (one copy in, none out); the rare, large transfers of
            // parameters stream over the socket, so the shared file stays batch-sized.
            boolean viaShm = shmEnabled && bytes >= SHM_MIN_BYTES && bytes <= SHM_MAX_BYTES;
            if (viaShm) {
                MappedByteBuffer m = shm(bytes);
                m.clear();
                for (Object a : inputs) {
                    if (a instanceof float[] f) m.asFloatBuffer().put(f);
                    else m.asIntBuffer().put((int[]) a);
                    m.position(m.position() + 4 * (a instanceof float[] f ? f.length : ((int[]) a).length));
                }
                h.put("shm", shmFile.toString());
                h.put("shm_size", shmSize);
                h.put("shm_bytes", bytes);
            }
            h.put("bytes", viaShm ? 0 : bytes);
            byte[] json = JSON.writeValueAsBytes(h);
            buf.clear();
            buf.putInt(json.length);
            writeBuffered(json);
            if (!viaShm) {
                for (Object a : inputs) {
                    if (a instanceof float[] f) writeFloats(f);
                    else writeInts((int[]) a);
                }
            }
            flush();

            JsonNode reply = readHeader();
            long payload = reply.path("bytes").asLong(0);
            if (!reply.path("ok").asBoolean(false)) {
                skip(payload);
                throw new IllegalStateException("PyTorch worker: " + reply.path("error").asText("failed without a message"));
            }
            long expected = 0;
            if (outputs != null) for (float[] o : outputs) expected += 4L * o.length;
            if (payload != expected) {
                throw new IllegalStateException("PyTorch worker replied " + payload + " payload bytes to '" + header.get("op")
                        + "', expected " + expected);
            }
            if (outputs != null) for (float[] o : outputs) readFloats(o);
            return reply;
        } catch (IOException e) {
            String tail = tail(log);
            close();
            throw new IllegalStateException("PyTorch worker died (" + e.getMessage() + ")" + tail, e);
        }
    }

    private void writeBuffered(byte[] bytes) throws IOException {
        int off = 0;
        while (off < bytes.length) {
            if (!buf.hasRemaining()) flush();
            int n = Math.min(buf.remaining(), bytes.length - off);
            buf.put(bytes, off, n);
            off += n;
        }
    }

    private void writeFloats(float[] a) throws IOException {
        int off = 0;
        while (off < a.length) {
            if (buf.remaining() < 4) flush();
            int n = Math.min(buf.remaining() / 4, a.length - off);
            buf.asFloatBuffer().put(a, off, n);
            buf.position(buf.position() + 4 * n);
            off += n;
        }
    }

    private void writeInts(int[] a) throws IOException {
        int off = 0;
        while (off < a.length) {
            if (buf.remaining() < 4) flush();
            int n = Math.min(buf.remaining() / 4, a.length - off);
            buf.asIntBuffer().put(a, off, n);
            buf.position(buf.position() + 4 * n);
            off += n;
        }
    }

    private void flush() throws IOException {
        buf.flip();
        while (buf.hasRemaining()) channel.write(buf);
        buf.clear();
    }

    private JsonNode readHeader() throws IOException {
        fill(4);
        int n = buf.getInt(0);
        if (n < 0 || n > MAX_HEADER) throw new IOException("reply header of " + n + " bytes");
        byte[] json = new byte[n];
        int off = 0;
        while (off < n) {
            int k = Math.min(CHUNK, n - off);
            fill(k);
            buf.get(0, json, off, k);
            off += k;
        }
        return JSON.readTree(new String(json, StandardCharsets.UTF_8));
    }

    private void readFloats(float[] a) throws IOException {
        int off = 0;
        while (off < a.length) {
            int n = Math.min(CHUNK / 4, a.length - off);
            fill(4 * n);
            buf.asFloatBuffer().get(a, off, n);
            off += n;
        }
    }

    private void skip(long bytes) throws IOException {
        while (bytes > 0) {
            int k = (int) Math.min(CHUNK, bytes);
            fill(k);
            bytes -= k;
        }
    }

    /** Reads exactly {@code n <= CHUNK} bytes into {@code buf[0, n)}. */
    private void fill(int n) throws IOException {
        buf.clear().limit(n);
        while (buf.hasRemaining()) {
            if (channel.read(buf) < 0) throw new IOException("connection closed by the worker");
        }
        buf.flip();
    }

    /** Whether {@link #close()} ran (or a broken connection closed it). */
    synchronized boolean closed() {
        return closed;
    }

    /** Kills the worker process at once, as a crash would (for tests of a dead peer); {@link #close()} still cleans up. */
    void kill() throws InterruptedException {
        process.destroyForcibly().waitFor();
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        try {
            if (channel.isOpen()) {
                try {
                    byte[] json = JSON.writeValueAsBytes(Map.of("op", "close", "bytes", 0));
                    buf.clear();
                    buf.putInt(json.length).put(json);
                    flush();
                } catch (IOException ignored) {
                    // the worker is gone already
                }
                channel.close();
            }
            if (!process.waitFor(10, TimeUnit.SECONDS)) process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
        } finally {
            deleteQuietly(dir);
            if (shmFile != null) {
                try {
                    Files.deleteIfExists(shmFile);
                } catch (IOException ignored) {
                    // /dev/shm is cleared at reboot
                }
            }
        }
    }

    private static String tail(Path log) {
        try {
            if (!Files.exists(log)) return "";
            List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
            if (lines.isEmpty()) return "";
            return "; worker output: " + String.join(" | ", lines.subList(Math.max(0, lines.size() - 5), lines.size()));
        } catch (IOException e) {
            return "";
        }
    }

    private static void deleteQuietly(Path dir) {
        try (var files = Files.walk(dir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException ignored) {
            // a temp directory left behind is harmless
        }
    }
}
