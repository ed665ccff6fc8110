package io.wrnstream.serve;

import io.wrnstream.kafka.update.ModelFiles;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.wrnstream.kafka.format.ImageCodec;
import io.wrnstream.kafka.format.RecordFormatException;
import io.wrnstream.kafka.update.ModelUpdate;
import io.wrnstream.model.data.ImageDecodeException;
import io.wrnstream.model.data.ImageLimits;
import io.wrnstream.model.data.Sample;
import io.wrnstream.model.io.ModelFile;
import io.wrnstream.model.wrn.WrnConfig;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Semaphore;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The prediction service: the JDK's {@link HttpServer} on a bounded pool of request threads, serving the model held in
 * an {@link AtomicReference}. Models are loaded and verified on the caller's thread ({@link #load(ModelUpdate)},
 * {@link #loadFile(Path)}; the {@link ModelFollower} thread or start-up), never on a request thread, and swapped in with
 * one reference write; requests hold a reference to the model they started with (see {@link ServedModel}).
 *
 * <p>Endpoints (every error has a JSON body {@code {"status":413,"error":"..."}}):
 * <ul>
 * <li>{@code POST /v1/predict[?k=5]}: body a PNG or JPEG image, or raw uint8 CHW pixels with
 *     {@code Content-Type: application/octet-stream} and {@code X-Image-Shape: CxHxW}; answers the top-k classes with
 *     names and probabilities. 400 undecodable/empty image or bad k, 413 body over the limit, 422 image shape differs
 *     from the model input, 503 no model yet.</li>
 * <li>{@code GET /v1/model}: the current model's id, version, step, images seen, test error, sha256, location, loaded at.</li>
 * <li>{@code GET /healthz}: 200 while the process serves; {@code GET /readyz}: 200 once a model is loaded, else 503.</li>
 * <li>{@code GET /metrics}: Prometheus text ({@link ServeMetrics}).</li>
 * </ul>
 * Other methods get 405 (with {@code Allow}), other paths 404.
 */
public final class ModelServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ModelServer.class);
    private static final Pattern SHAPE = Pattern.compile("(\\d{1,3})x(\\d{1,5})x(\\d{1,5})");

    private final ServeConfig config;
    private final HttpServer http;
    private final ThreadPoolExecutor pool;
    private final Semaphore work;
    private final AtomicReference<ServedModel> current = new AtomicReference<>();
    private final ServeMetrics metrics = new ServeMetrics();
    private final ObjectMapper json = new ObjectMapper();
    private final Object loading = new Object();

    private ModelServer(ServeConfig config) throws IOException {
        this.config = config;
        this.work = new Semaphore(config.threads(), true);
        configureJdkHttpServer(config);
        AtomicInteger n = new AtomicInteger();
        // One thread per open connection (up to max-connections): the JDK server reads a request's headers and body on
        // the executor's thread, so a slow client must hold only its own. The heavy part is bounded by `work` instead.
        this.pool = new ThreadPoolExecutor(config.threads(), config.maxConnections(), IDLE_THREAD_SECONDS, TimeUnit.SECONDS,
                new SynchronousQueue<>(), r -> {
                    Thread t = new Thread(r, "wrn-serve-" + n.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
        this.http = HttpServer.create(new InetSocketAddress(config.bind(), config.port()), 64);
        http.createContext("/", this::handle);
        http.setExecutor(pool);
    }

    /** Seconds an idle connection thread above {@code threads} lives. */
    static final long IDLE_THREAD_SECONDS = 2;

    /**
     * The JDK server's own limits are JVM-wide system properties read once, when the first server starts: the time a
     * request may take to arrive, the connection limit and header bounds. Values given on the command line win.
     */
    private static void configureJdkHttpServer(ServeConfig config) {
        setIfAbsent("sun.net.httpserver.maxReqTime", String.valueOf(config.requestTimeout().toSeconds()));
        setIfAbsent("jdk.httpserver.maxConnections", String.valueOf(config.maxConnections()));
        setIfAbsent("sun.net.httpserver.maxReqHeaders", "100");
        setIfAbsent("sun.net.httpserver.maxReqHeaderSize", String.valueOf(16 << 10));
    }

    private static void setIfAbsent(String key, String value) {
        if (System.getProperty(key) == null) System.setProperty(key, value);
    }

    /** Starts listening; no model is loaded yet ({@code /readyz} answers 503 until one is). */
    public static ModelServer start(ServeConfig config) throws IOException {
        ModelServer s = new ModelServer(config);
        s.http.start();
        LOG.info("Serving on http://{}:{} with {} request threads, bodies up to {} bytes", config.bind(), s.port(), config.threads(),
                config.maxRequestBytes());
        return s;
    }

    /** The port listened on. */
    public int port() {
        return http.getAddress().getPort();
    }

    /** The metrics. */
    public ServeMetrics metrics() {
        return metrics;
    }

    /** The current model's metadata, or null before the first load. */
    public ModelInfo current() {
        ServedModel m = current.get();
        return m == null ? null : m.info();
    }

    /**
     * Reads the file an update announces, checks its size and SHA-256, loads and warms up the model, then swaps it in.
     * Runs on the caller's thread.
     *
     * @throws RuntimeException when the file cannot be read or verified or is not a valid model (the current model stays)
     */
    public ModelInfo load(ModelUpdate u) {
        return loadBytes(() -> ModelFiles.read(u.location(), u.size(), u.sha256()),
                bytes -> new ModelInfo(u.modelId(), u.version(), u.step(), u.imagesSeen(), u.testError(), u.sha256(), u.location(), u.size(),
                        System.currentTimeMillis()));
    }

    /** Loads a model file (version 0) and swaps it in; runs on the caller's thread. */
    public ModelInfo loadFile(Path file) {
        return loadBytes(() -> {
            try {
                return Files.readAllBytes(file);
            } catch (IOException e) {
                throw new UncheckedIOException("Cannot read model file " + file, e);
            }
        }, bytes -> {
            ModelFile.Provenance p = ModelFile.read(bytes, file.toString()).provenance();
            return new ModelInfo(file.getFileName().toString(), 0, p.steps(), p.imagesSeen(), null, ModelFile.sha256(bytes),
                    file.toAbsolutePath().toUri().toString(), bytes.length, System.currentTimeMillis());
        });
    }

    private ModelInfo loadBytes(Supplier<byte[]> read, Function<byte[], ModelInfo> describe) {
        synchronized (loading) {
            try {
                byte[] bytes = read.get();
                ModelInfo info = describe.apply(bytes);
                long t0 = System.nanoTime();
                ServedModel m = ServedModel.load(bytes, info, config.classNames());
                install(m);
                metrics.loaded();
                LOG.info("Model {} v{} (step {}) loaded from {} in {} ms and swapped in", info.modelId(), info.version(), info.step(),
                        info.location(), (System.nanoTime() - t0) / 1_000_000);
                return info;
            } catch (RuntimeException e) {
                metrics.loadFailed();
                throw e;
            }
        }
    }

    /** Makes {@code m} current and releases the previous model (closed once its last request finishes). */
    void install(ServedModel m) {
        ServedModel old = current.getAndSet(m);
        if (old != null) old.release();
    }

    /** A reference to the current model, or null when none is loaded; release it after use. */
    private ServedModel acquire() {
        while (true) {
            ServedModel m = current.get();
            if (m == null || m.acquire()) return m;
            // Retired between get and acquire: the next read sees its successor.
        }
    }

    @Override
    public void close() {
        http.stop(0);
        pool.shutdown();
        ServedModel m = current.getAndSet(null);
        if (m != null) m.release();
    }

    // ---- HTTP ----

    private void handle(HttpExchange ex) throws IOException {
        String path = ex.getRequestURI().getPath();
        String endpoint = switch (path) {
            case "/v1/predict", "/v1/model", "/healthz", "/readyz", "/metrics" -> path;
            default -> "other";
        };
        int status;
        try {
            status = switch (endpoint) {
                case "/v1/predict" -> predict(ex);
                case "/v1/model" -> onlyGet(ex) ? model(ex) : 405;
                case "/healthz" -> onlyGet(ex) ? send(ex, 200, json.createObjectNode().put("status", "alive")) : 405;
                case "/readyz" -> onlyGet(ex) ? ready(ex) : 405;
                case "/metrics" -> onlyGet(ex) ? metrics(ex) : 405;
                default -> error(ex, 404, "No such endpoint " + path + ": use POST /v1/predict, GET /v1/model, /healthz, /readyz or /metrics");
            };
        } catch (IOException e) {
            // The client went away (closed, reset, or too slow for the request timeout): counted, not an error of ours.
            metrics.clientDisconnected();
            status = 499;
            LOG.debug("Client of {} {} disconnected: {}", ex.getRequestMethod(), path, e.toString());
        } catch (RuntimeException e) {
            LOG.warn("Request {} {} failed", ex.getRequestMethod(), path, e);
            status = 500;
            try {
                error(ex, 500, "Internal error: " + e);
            } catch (IOException | RuntimeException ignored) {
                // the response may already have been started
            }
        } finally {
            ex.close();
        }
        metrics.request(endpoint, status);
    }

    private boolean onlyGet(HttpExchange ex) throws IOException {
        if (ex.getRequestMethod().equals("GET")) return true;
        ex.getResponseHeaders().set("Allow", "GET");
        error(ex, 405, "Method " + ex.getRequestMethod() + " not allowed on " + ex.getRequestURI().getPath() + ": use GET");
        return false;
    }

    private int ready(HttpExchange ex) throws IOException {
        ModelInfo m = current();
        if (m == null) return send(ex, 503, json.createObjectNode().put("status", "not ready").put("reason", "no model loaded yet"));
        return send(ex, 200, json.createObjectNode().put("status", "ready").put("model_id", m.modelId()).put("version", m.version()));
    }

    private int model(HttpExchange ex) throws IOException {
        ServedModel m = acquire();
        if (m == null) return error(ex, 503, "No model loaded yet");
        try {
            ModelInfo i = m.info();
            ObjectNode n = json.createObjectNode().put("model_id", i.modelId()).put("version", i.version()).put("step", i.step())
                    .put("images_seen", i.imagesSeen());
            if (i.testError() == null) n.putNull("test_error"); else n.put("test_error", i.testError());
            n.put("sha256", i.sha256()).put("location", i.location()).put("size", i.size())
                    .put("loaded_at", Instant.ofEpochMilli(i.loadedAtMs()).toString()).put("architecture", m.wrn().name())
                    .put("input", m.wrn().channels() + "x" + m.wrn().height() + "x" + m.wrn().width()).put("classes", m.wrn().classes());
            return send(ex, 200, n);
        } finally {
            m.release();
        }
    }

    private int metrics(HttpExchange ex) throws IOException {
        byte[] body = metrics.render(current()).getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
        ex.sendResponseHeaders(200, body.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(body);
        }
        return 200;
    }

    private int predict(HttpExchange ex) throws IOException {
        long t0 = System.nanoTime();
        try {
            return predictTimed(ex);
        } finally {
            metrics.predictLatency((System.nanoTime() - t0) / 1e9);
        }
    }

    private int predictTimed(HttpExchange ex) throws IOException {
        if (!ex.getRequestMethod().equals("POST")) {
            ex.getResponseHeaders().set("Allow", "POST");
            return error(ex, 405, "Method " + ex.getRequestMethod() + " not allowed on /v1/predict: POST an image");
        }
        String declared = ex.getRequestHeaders().getFirst("Content-Length");
        if (declared != null) {
            long n;
            try {
                n = Long.parseLong(declared.trim());
            } catch (NumberFormatException e) {
                return error(ex, 400, "Invalid Content-Length '" + declared + "'");
            }
            if (n > config.maxRequestBytes()) return tooLarge(ex, n + " bytes");
        }
        byte[] body = readAtMost(ex.getRequestBody(), config.maxRequestBytes() + 1);
        if (body.length > config.maxRequestBytes()) return tooLarge(ex, "more than " + config.maxRequestBytes() + " bytes");
        if (body.length == 0) return error(ex, 400, "Empty body: POST a PNG or JPEG image (or raw CHW bytes with X-Image-Shape)");
        // Decoding and prediction take memory and CPU: at most `threads` at once; the rest wait their turn, bounded.
        boolean permit;
        try {
            permit = work.tryAcquire(config.requestTimeout().toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return error(ex, 503, "Shutting down");
        }
        if (!permit) return error(ex, 503, "Busy: " + config.threads() + " predictions running and others waiting; retry later");
        try {
            ServedModel m = acquire();
            if (m == null) return error(ex, 503, "No model loaded yet: see GET /readyz");
            try {
                int classes = m.wrn().classes();
                int k;
                try {
                    k = topK(ex.getRequestURI().getRawQuery(), Math.min(5, classes));
                } catch (NumberFormatException e) {
                    return error(ex, 400, "Invalid value for k: must be an integer in [1, " + classes + "]");
                }
                if (k < 1 || k > classes) return error(ex, 400, "Invalid value " + k + " for k: must be in [1, " + classes + "]");
                Sample image;
                try {
                    image = decode(ex, body, m.wrn());
                } catch (RecordFormatException e) {
                    if (e.getCause() instanceof ImageDecodeException d && d.getMessage().contains("above the bound")) {
                        return error(ex, 422, "Image refused before decoding: " + d.getMessage() + " (the model takes "
                                + m.wrn().channels() + "x" + m.wrn().height() + "x" + m.wrn().width() + ")");
                    }
                    return error(ex, 400, "Undecodable image (" + body.length + " bytes): POST a PNG or JPEG, or raw CHW bytes with "
                            + "Content-Type application/octet-stream and X-Image-Shape");
                } catch (IllegalArgumentException e) {
                    return error(ex, 400, e.getMessage());
                }
                List<ServedModel.Prediction> predictions;
                try {
                    predictions = m.predict(image, k);
                } catch (IllegalArgumentException e) {
                    return error(ex, 422, e.getMessage());
                }
                ModelInfo i = m.info();
                ObjectNode n = json.createObjectNode().put("model_id", i.modelId()).put("model_version", i.version()).put("step", i.step());
                ArrayNode a = n.putArray("predictions");
                for (ServedModel.Prediction p : predictions) {
                    a.addObject().put("class", p.index()).put("name", p.name()).put("probability", p.probability());
                }
                ex.getResponseHeaders().set("X-Model-Version", String.valueOf(i.version()));
                return send(ex, 200, n);
            } finally {
                m.release();
            }
        } finally {
            work.release();
        }
    }

    /** Request images of up to this many pixels are decoded whatever the model's input (about 10 MB while decoding). */
    static final long MIN_DECODE_PIXELS = 1L << 20;

    /** Decodes a request image; a PNG/JPEG header declaring far more pixels than the model's input is refused before decoding. */
    private Sample decode(HttpExchange ex, byte[] body, WrnConfig model) {
        String type = ex.getRequestHeaders().getFirst("Content-Type");
        String shape = ex.getRequestHeaders().getFirst("X-Image-Shape");
        if (type != null && type.toLowerCase(Locale.ROOT).startsWith("application/octet-stream") && shape != null) {
            Matcher mt = SHAPE.matcher(shape.trim().toLowerCase(Locale.ROOT));
            if (!mt.matches()) throw new IllegalArgumentException("Invalid X-Image-Shape '" + shape + "': must be CxHxW, e.g. 3x32x32");
            int c = Integer.parseInt(mt.group(1)), h = Integer.parseInt(mt.group(2)), w = Integer.parseInt(mt.group(3));
            if ((long) c * h * w != body.length) {
                throw new IllegalArgumentException("Raw body of " + body.length + " bytes does not match X-Image-Shape " + shape + " ("
                        + ((long) c * h * w) + " bytes of uint8 CHW pixels)");
            }
            return new Sample(0, 0, c, h, w, body);
        }
        // Room for a wrong but harmless shape (answered 422 after decoding); nothing near a bomb is ever decoded.
        long maxPixels = Math.max(16L * model.height() * model.width(), MIN_DECODE_PIXELS);
        return ImageCodec.decode(0, 0, body, "request", new ImageLimits(maxPixels, config.maxRequestBytes(), 0, 0, 0));
    }

    static int topK(String rawQuery, int def) {
        if (rawQuery == null) return def;
        for (String kv : rawQuery.split("&")) {
            if (kv.startsWith("k=")) return Integer.parseInt(kv.substring(2));
        }
        return def;
    }

    private int tooLarge(HttpExchange ex, String what) throws IOException {
        return error(ex, 413, "Request body of " + what + " exceeds the limit of " + config.maxRequestBytes() + " bytes (--max-request-bytes)");
    }

    private static byte[] readAtMost(InputStream in, int max) throws IOException {
        return in.readNBytes(max);
    }

    private int error(HttpExchange ex, int status, String message) throws IOException {
        return send(ex, status, json.createObjectNode().put("status", status).put("error", message));
    }

    private int send(HttpExchange ex, int status, ObjectNode body) throws IOException {
        byte[] b = json.writeValueAsBytes(body);
        ex.getResponseHeaders().set("Content-Type", "application/json");
        ex.sendResponseHeaders(status, b.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(b);
        }
        return status;
    }
}
