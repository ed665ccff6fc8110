package io.wrnstream.jobs.metrics;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * A real Prometheus server (the {@code prometheus} binary, e.g. Debian's package) scraping one endpoint every second,
 * for running the dashboard's PromQL as Grafana would. Started in its own process on 127.0.0.1; {@link #close()} stops it.
 */
final class RealPrometheus implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Process process;
    private final URI api;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private RealPrometheus(Process process, URI api) {
        this.process = process;
        this.api = api;
    }

    /** The {@code prometheus} binary on the PATH, or null. */
    static Path binary() {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            Path p = Path.of(dir, "prometheus");
            if (Files.isExecutable(p)) return p;
        }
        return null;
    }

    /** Starts {@code binary} scraping {@code target} ({@code host:port}) every second; returns once it answers. */
    static RealPrometheus start(Path binary, String target, Path dir) throws Exception {
        Files.createDirectories(dir);
        Path config = dir.resolve("prometheus.yml");
        Files.writeString(config, "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n"
                + "  - job_name: flink\n    static_configs:\n      - targets: ['" + target + "']\n");
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Process p = new ProcessBuilder(binary.toString(), "--config.file=" + config, "--storage.tsdb.path=" + dir.resolve("data"),
                "--web.listen-address=127.0.0.1:" + port).redirectErrorStream(true).redirectOutput(dir.resolve("prometheus.log").toFile()).start();
        RealPrometheus prom = new RealPrometheus(p, URI.create("http://127.0.0.1:" + port));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            try {
                if (prom.http.send(HttpRequest.newBuilder(prom.api.resolve("/-/ready")).build(), HttpResponse.BodyHandlers.discarding())
                        .statusCode() == 200) {
                    return prom;
                }
            } catch (IOException notYet) {
                // starting
            }
            if (System.nanoTime() > deadline || !p.isAlive()) {
                prom.close();
                throw new IllegalStateException("Prometheus did not start; see " + dir.resolve("prometheus.log"));
            }
            TimeUnit.MILLISECONDS.sleep(200); // polling its readiness endpoint
        }
    }

    /** Waits until the target has been scraped successfully {@code n} times. */
    void awaitScrapes(int n, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            JsonNode r = query("sum_over_time(up{job=\"flink\"}[1m])");
            if (r.size() > 0 && r.get(0).path("value").get(1).asDouble() >= n) return;
            TimeUnit.MILLISECONDS.sleep(250); // polling Prometheus
        }
        throw new AssertionError("Prometheus did not scrape the job " + n + " times within " + timeout);
    }

    /** The result vector of an instant query; fails when Prometheus reports an error. */
    JsonNode query(String promql) throws Exception {
        URI u = api.resolve("/api/v1/query?query=" + URLEncoder.encode(promql, StandardCharsets.UTF_8));
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(u).timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
        JsonNode n = JSON.readTree(r.body());
        if (!"success".equals(n.path("status").asText())) {
            throw new IllegalArgumentException("Prometheus refused " + promql + ": " + n.path("error").asText());
        }
        return n.path("data").path("result");
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(10, TimeUnit.SECONDS)) process.destroyForcibly();
    }
}
