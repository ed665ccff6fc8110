package io.wrnstream.serve;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.DoubleAdder;
import java.util.concurrent.atomic.LongAdder;

/**
 * The service's metrics in the Prometheus text exposition format (version 0.0.4), written by hand: requests by endpoint
 * and status, the latency histogram of predictions, model loads and load failures, and the current model's version.
 */
public final class ServeMetrics {
    /** Upper bounds, in seconds, of the latency histogram buckets. */
    static final double[] BUCKETS = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

    private final Map<String, LongAdder> requests = new ConcurrentHashMap<>();
    private final LongAdder[] latencyBuckets = new LongAdder[BUCKETS.length];
    private final LongAdder latencyCount = new LongAdder();
    private final DoubleAdder latencySum = new DoubleAdder();
    private final LongAdder loads = new LongAdder();
    private final LongAdder loadFailures = new LongAdder();
    private final LongAdder clientDisconnects = new LongAdder();

    ServeMetrics() {
        for (int i = 0; i < BUCKETS.length; i++) latencyBuckets[i] = new LongAdder();
    }

    /** Counts one request to {@code endpoint} answered with {@code status}. */
    void request(String endpoint, int status) {
        requests.computeIfAbsent(endpoint + "\u0000" + status, k -> new LongAdder()).increment();
    }

    /** Records the duration of one prediction request. */
    void predictLatency(double seconds) {
        for (int i = 0; i < BUCKETS.length; i++) if (seconds <= BUCKETS[i]) latencyBuckets[i].increment();
        latencyCount.increment();
        latencySum.add(seconds);
    }

    void loaded() {
        loads.increment();
    }

    void clientDisconnected() {
        clientDisconnects.increment();
    }

    /** Requests whose client went away before the answer was sent. */
    public long clientDisconnects() {
        return clientDisconnects.sum();
    }

    void loadFailed() {
        loadFailures.increment();
    }

    /** Model loads that succeeded. */
    public long loads() {
        return loads.sum();
    }

    /** Model loads that failed. */
    public long loadFailures() {
        return loadFailures.sum();
    }

    /** The exposition text; {@code current} may be null (no model yet). */
    String render(ModelInfo current) {
        StringBuilder sb = new StringBuilder(2048);
        sb.append("# HELP wrn_serve_requests_total HTTP requests by endpoint and status code.\n# TYPE wrn_serve_requests_total counter\n");
        Map<String, Long> sorted = new TreeMap<>();
        requests.forEach((k, v) -> sorted.put(k, v.sum()));
        sorted.forEach((k, v) -> {
            String[] parts = k.split("\u0000");
            sb.append("wrn_serve_requests_total{endpoint=\"").append(escape(parts[0])).append("\",code=\"").append(parts[1]).append("\"} ")
                    .append(v).append('\n');
        });
        sb.append("# HELP wrn_serve_predict_duration_seconds Latency of POST /v1/predict (all outcomes).\n")
                .append("# TYPE wrn_serve_predict_duration_seconds histogram\n");
        for (int i = 0; i < BUCKETS.length; i++) {
            sb.append("wrn_serve_predict_duration_seconds_bucket{le=\"").append(num(BUCKETS[i])).append("\"} ").append(latencyBuckets[i].sum()).append('\n');
        }
        long count = latencyCount.sum();
        sb.append("wrn_serve_predict_duration_seconds_bucket{le=\"+Inf\"} ").append(count).append('\n');
        sb.append("wrn_serve_predict_duration_seconds_sum ").append(num(latencySum.sum())).append('\n');
        sb.append("wrn_serve_predict_duration_seconds_count ").append(count).append('\n');
        sb.append("# HELP wrn_serve_model_loads_total Models loaded and swapped in.\n# TYPE wrn_serve_model_loads_total counter\n")
                .append("wrn_serve_model_loads_total ").append(loads.sum()).append('\n');
        sb.append("# HELP wrn_serve_model_load_failures_total Model loads that failed (unreadable, digest mismatch, corrupt).\n")
                .append("# TYPE wrn_serve_model_load_failures_total counter\n")
                .append("wrn_serve_model_load_failures_total ").append(loadFailures.sum()).append('\n');
        sb.append("# HELP wrn_serve_client_disconnects_total Requests whose client went away (closed, reset or too slow) before the answer.\n")
                .append("# TYPE wrn_serve_client_disconnects_total counter\n")
                .append("wrn_serve_client_disconnects_total ").append(clientDisconnects.sum()).append('\n');
        sb.append("# HELP wrn_serve_model_ready 1 when a model is loaded.\n# TYPE wrn_serve_model_ready gauge\n")
                .append("wrn_serve_model_ready ").append(current == null ? 0 : 1).append('\n');
        if (current != null) {
            sb.append("# HELP wrn_serve_model_version Version of the served model.\n# TYPE wrn_serve_model_version gauge\n")
                    .append("wrn_serve_model_version{model_id=\"").append(escape(current.modelId())).append("\"} ").append(current.version()).append('\n');
            sb.append("# HELP wrn_serve_model_step Training steps of the served model.\n# TYPE wrn_serve_model_step gauge\n")
                    .append("wrn_serve_model_step ").append(current.step()).append('\n');
            sb.append("# HELP wrn_serve_model_images_seen Training images of the served model.\n# TYPE wrn_serve_model_images_seen gauge\n")
                    .append("wrn_serve_model_images_seen ").append(current.imagesSeen()).append('\n');
            sb.append("# HELP wrn_serve_model_loaded_timestamp_seconds When the served model was loaded.\n")
                    .append("# TYPE wrn_serve_model_loaded_timestamp_seconds gauge\n")
                    .append("wrn_serve_model_loaded_timestamp_seconds ").append(num(current.loadedAtMs() / 1000.0)).append('\n');
            if (current.testError() != null) {
                sb.append("# HELP wrn_serve_model_test_error Latest test error known when the served model was published.\n")
                        .append("# TYPE wrn_serve_model_test_error gauge\n")
                        .append("wrn_serve_model_test_error ").append(num(current.testError())).append('\n');
            }
        }
        return sb.toString();
    }

    private static String num(double d) {
        return d == Math.rint(d) && Math.abs(d) < 1e15 ? String.valueOf((long) d) : Double.toString(d);
    }

    private static String escape(String s) {
        return s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
    }
}
