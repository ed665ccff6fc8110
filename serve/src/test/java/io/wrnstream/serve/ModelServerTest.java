package io.wrnstream.serve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.wrnstream.model.augment.Augmenter;
import io.wrnstream.kafka.update.ModelUpdate;
import io.wrnstream.model.data.Sample;
import io.wrnstream.model.engine.Batch;
import io.wrnstream.model.engine.TrainingEngine;
import io.wrnstream.model.io.ModelFile;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import io.wrnstream.embedded.EmbeddedKafka;
import io.wrnstream.kafka.update.UpdateSigning;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;

/** The HTTP service on a free port with tiny WRN-10-1 model files (3x16x16, 10 classes) trained a few steps here. */
class ModelServerTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Logger LOG = LoggerFactory.getLogger(ModelServerTest.class);

    @TempDir
    static Path dir;
    private static Path modelA;
    private static Path modelB;

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    private ModelServer server;

    @BeforeAll
    static void trainModels() {
        modelA = dir.resolve("a.wrnmodel");
        modelB = dir.resolve("b.wrnmodel");
        TinyModels.write(new int[] {2, 3}, new Path[] {modelA, modelB});
    }

    @AfterEach
    void stop() {
        if (server != null) server.close();
    }

    private ModelServer start(int maxRequestBytes) throws Exception {
        server = ModelServer.start(new ServeConfig("127.0.0.1", 0, 3, maxRequestBytes, null));
        return server;
    }

    @Test
    void isReadyOnlyOnceAModelIsLoaded() throws Exception {
        start(ServeConfig.DEFAULT_MAX_REQUEST_BYTES);
        assertThat(get("/healthz").statusCode()).isEqualTo(200);
        assertThat(get("/readyz").statusCode()).isEqualTo(503);
        assertThat(get("/v1/model").statusCode()).isEqualTo(503);
        HttpResponse<String> early = post("/v1/predict", TinyModels.png(TinyModels.image(1, 3, 16, 16)));
        assertThat(early.statusCode()).isEqualTo(503);
        assertThat(json(early).get("error").asText()).startsWith("No model loaded yet");

        server.loadFile(modelA);
        assertThat(get("/readyz").statusCode()).isEqualTo(200);
        JsonNode model = json(get("/v1/model"));
        assertThat(model.get("version").asLong()).isZero();
        assertThat(model.get("step").asLong()).isEqualTo(2);
        assertThat(model.get("images_seen").asLong()).isEqualTo(16);
        assertThat(model.get("sha256").asText()).isEqualTo(ModelFile.sha256(Files.readAllBytes(modelA)));
        assertThat(model.get("input").asText()).isEqualTo("3x16x16");
        assertThat(model.get("test_error").isNull()).isTrue();
    }

    @Test
    void predictsTopKWithTheTrainingNormalisationFromPngOrRawPixels() throws Exception {
        start(ServeConfig.DEFAULT_MAX_REQUEST_BYTES);
        server.loadFile(modelA);
        Sample image = TinyModels.image(5, 3, 16, 16);
        HttpResponse<String> r = post("/v1/predict?k=3", TinyModels.png(image));
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type")).hasValue("application/json");
        JsonNode preds = json(r).get("predictions");
        assertThat(preds).hasSize(3);
        List<Double> probs = new ArrayList<>();
        preds.forEach(p -> probs.add(p.get("probability").asDouble()));
        assertThat(probs).isSortedAccordingTo(Collections.reverseOrder());
        assertThat(preds.get(0).get("name").asText()).isIn("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck");

        // The same image through the engine directly, normalised as the training job does.
        float[] expected;
        try (TrainingEngine e = ModelFile.load(modelA).engine()) {
            float[] x = new float[3 * 16 * 16];
            Augmenter.paper(3).eval(image, x, 0);
            expected = e.predict(new Batch(x, new int[1], 3, 16, 16))[0];
        }
        int top = preds.get(0).get("class").asInt();
        assertThat(probs.get(0)).isCloseTo(expected[top], org.assertj.core.data.Offset.offset(1e-5));
        for (float p : expected) assertThat((double) p).isLessThanOrEqualTo(probs.get(0) + 1e-6);

        // PNG is lossless: raw CHW bytes of the same image give the same answer.
        HttpResponse<String> raw = send(HttpRequest.newBuilder(uri("/v1/predict?k=3")).header("Content-Type", "application/octet-stream")
                .header("X-Image-Shape", "3x16x16").POST(HttpRequest.BodyPublishers.ofByteArray(image.pixels())).build());
        assertThat(raw.statusCode()).isEqualTo(200);
        assertThat(json(raw).get("predictions")).isEqualTo(preds);
    }

    @Test
    void badRequestsGetAClearJsonError() throws Exception {
        start(4096);
        server.loadFile(modelA);
        assertError(post("/v1/predict", new byte[5000]), 413, "Request body of 5000 bytes exceeds the limit of 4096 bytes (--max-request-bytes)");
        assertError(post("/v1/predict", "not an image".getBytes()), 400, "Undecodable image (12 bytes): POST a PNG or JPEG, or raw CHW bytes with "
                + "Content-Type application/octet-stream and X-Image-Shape");
        assertError(post("/v1/predict", new byte[0]), 400, "Empty body: POST a PNG or JPEG image (or raw CHW bytes with X-Image-Shape)");
        assertError(post("/v1/predict", TinyModels.png(TinyModels.image(2, 3, 20, 16))), 422,
                "Image is 3x20x16 (CxHxW), the model takes 3x16x16");
        assertError(post("/v1/predict", TinyModels.png(TinyModels.image(2, 1, 16, 16))), 422,
                "Image is 1x16x16 (CxHxW), the model takes 3x16x16");
        assertError(post("/v1/predict?k=11", TinyModels.png(TinyModels.image(2, 3, 16, 16))), 400, "Invalid value 11 for k: must be in [1, 10]");
        assertError(post("/v1/predict?k=x", TinyModels.png(TinyModels.image(2, 3, 16, 16))), 400, "Invalid value for k: must be an integer in [1, 10]");
        HttpResponse<String> getPredict = get("/v1/predict");
        assertError(getPredict, 405, "Method GET not allowed on /v1/predict: POST an image");
        assertThat(getPredict.headers().firstValue("Allow")).hasValue("POST");
        assertError(post("/healthz", new byte[1]), 405, "Method POST not allowed on /healthz: use GET");
        assertError(get("/v2/nothing"), 404, "No such endpoint /v2/nothing: use POST /v1/predict, GET /v1/model, /healthz, /readyz or /metrics");

        String metrics = get("/metrics").body();
        assertThat(metrics).contains("wrn_serve_requests_total{endpoint=\"/v1/predict\",code=\"413\"} 1")
                .contains("wrn_serve_requests_total{endpoint=\"/v1/predict\",code=\"422\"} 2")
                .contains("wrn_serve_requests_total{endpoint=\"other\",code=\"404\"} 1")
                .contains("wrn_serve_predict_duration_seconds_count 8")
                .contains("wrn_serve_predict_duration_seconds_bucket{le=\"+Inf\"} 8")
                .contains("wrn_serve_model_version{model_id=\"a.wrnmodel\"} 0")
                .contains("wrn_serve_model_loads_total 1");
    }

    @Test
    void imageBombsAreRefusedBeforeDecodingAndHealthStaysAnswered() throws Exception {
        start(ServeConfig.DEFAULT_MAX_REQUEST_BYTES);
        server.loadFile(modelA);
        byte[] bomb = io.wrnstream.model.data.ImageBombs.png(46_000, 46_000, 2);
        assertThat(bomb.length).isLessThan(64 << 10);
        long t0 = System.nanoTime();
        for (int i = 0; i < 4; i++) {
            assertError(post("/v1/predict", bomb), 422, "Image refused before decoding: the PNG header declares 46000x46000 = 2116000000 pixels,"
                    + " above the bound of 1048576; not decoded (the model takes 3x16x16)");
        }
        assertThat((System.nanoTime() - t0) / 1e9).as("seconds for four bombs").isLessThan(2);
        assertThat(get("/healthz").statusCode()).isEqualTo(200);
    }

    @Test
    void healthIsAnsweredWhileFiftyClientsTrickleHeadersAndNoThreadLeaks() throws Exception {
        start(ServeConfig.DEFAULT_MAX_REQUEST_BYTES);
        server.loadFile(modelA);
        List<Long> healthMillis;
        try (AutoCloseable slow = Attacks.slowHeaders(server.port(), 50)) {
            healthMillis = Attacks.probeHealth(uri("/healthz"), Duration.ofSeconds(6));
        }
        long worst = healthMillis.stream().mapToLong(Long::longValue).max().orElseThrow();
        LOG.info("health under 50 trickling clients: {} probes, worst {} ms", healthMillis.size(), worst);
        assertThat(worst).as("worst /healthz latency, ms").isLessThan(1000);
        assertThat(Attacks.awaitServerThreadsAtMost(3)).as("server threads after the slow clients left (3 request threads stay)").isLessThanOrEqualTo(3);
        assertThat(get("/metrics").body()).contains("wrn_serve_client_disconnects_total");
    }

    /**
     * Every attack at once, bounded in count and time: 50 connections trickling headers, 8 clients flooding predictions,
     * 2 clients posting image bombs, and forged model updates on a real broker's topic (unsigned ones announcing
     * 2,000,000,000 bytes or a foreign file, and ones signed with another key) for a follower that holds the signing key.
     */
    @Test
    void healthStaysAnsweredUnderSlowHeadersAFloodBombsAndForgedUpdatesAtOnce() throws Exception {
        start(ServeConfig.DEFAULT_MAX_REQUEST_BYTES);
        server.load(update(modelA, 1));
        UpdateSigning key = new UpdateSigning("the serving key: thirty-two bytes or more".getBytes(StandardCharsets.UTF_8));
        UpdateSigning otherKey = new UpdateSigning("somebody else's key, also long enough".getBytes(StandardCharsets.UTF_8));
        byte[] png = TinyModels.png(TinyModels.image(9, 3, 16, 16));
        byte[] bomb = io.wrnstream.model.data.ImageBombs.png(46_000, 46_000, 2);
        HttpClient clients = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
        java.util.function.Function<byte[], java.util.concurrent.Callable<Integer>> poster = body -> () -> clients.send(
                HttpRequest.newBuilder(uri("/v1/predict")).timeout(Duration.ofSeconds(30)).header("Content-Type", "image/png")
                        .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(), HttpResponse.BodyHandlers.discarding()).statusCode();

        List<Long> healthMillis;
        Map<String, Long> flood;
        Map<String, Long> bombs;
        long forged;
        long peakHeap;
        try (EmbeddedKafka kafka = EmbeddedKafka.start()) {
            kafka.createTopics(1, "abuse.models");
            try (ModelFollower follower = new ModelFollower(server, "abuse.models", null, kafka.clientProperties(), false, key);
                 KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(kafka.clientProperties(), new ByteArraySerializer(),
                         new ByteArraySerializer())) {
                java.util.concurrent.atomic.AtomicLong sent = new java.util.concurrent.atomic.AtomicLong();
                peakHeapReset();
                try (AutoCloseable slow = Attacks.slowHeaders(server.port(), 50);
                     Attacks.Loop floodLoop = new Attacks.Loop(8, poster.apply(png));
                     Attacks.Loop bombLoop = new Attacks.Loop(2, poster.apply(bomb));
                     Attacks.Loop forger = new Attacks.Loop(1, () -> {
                         long v = 2 + sent.get();
                         String json = switch ((int) (v % 3)) {
                             case 0 -> forgedUpdate(v, modelB.toUri().toString(), 2_000_000_000L).toJson(); // unsigned, huge
                             case 1 -> forgedUpdate(v, "file:///etc/passwd", 1234).toJson();                 // unsigned, foreign file
                             default -> otherKey.signedJson(forgedUpdate(v, modelB.toUri().toString(), Files.size(modelB)));
                         };
                         producer.send(new ProducerRecord<>("abuse.models", "tiny".getBytes(StandardCharsets.UTF_8),
                                 json.getBytes(StandardCharsets.UTF_8))).get();
                         sent.incrementAndGet();
                         java.util.concurrent.TimeUnit.MILLISECONDS.sleep(50); // the forger's pace
                         return "sent";
                     })) {
                    healthMillis = Attacks.probeHealth(uri("/healthz"), Duration.ofSeconds(8));
                    assertThat(server.current().version()).as("served model during the attack").isEqualTo(1);
                    flood = floodLoop.outcomes();
                    bombs = bombLoop.outcomes();
                }
                peakHeap = peakHeapReset();
                forged = sent.get();
                long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
                while (follower.refused() < forged && System.nanoTime() < deadline) Thread.sleep(100); // polling the follower
                assertThat(follower.refused()).as("forged updates refused by the follower").isEqualTo(forged);
            }
        }
        long worst = healthMillis.stream().mapToLong(Long::longValue).max().orElseThrow();
        long threadsAfter = Attacks.awaitServerThreadsAtMost(3);
        LOG.info("serve under every attack at once for 8 s: /healthz {} probes, worst {} ms; flood {}; bombs {};"
                + " {} forged updates refused; peak heap {} MB; server threads {} afterwards", healthMillis.size(), worst, flood, bombs,
                forged, peakHeap >> 20, threadsAfter);

        assertThat(worst).as("worst /healthz latency, ms").isLessThan(1000);
        assertThat(flood.keySet()).as("flood answers: served, or told to retry").isSubsetOf("200", "503").contains("200");
        assertThat(bombs.keySet()).as("image bombs: refused from their header (or told to retry), never decoded").isSubsetOf("422", "503")
                .contains("422");
        assertThat(forged).as("forged updates written").isGreaterThan(10);
        assertThat(server.current().version()).as("the served model after the forgeries").isEqualTo(1);
        assertThat(server.metrics().loads()).as("no model loaded but the first").isEqualTo(1);
        assertThat(peakHeap).as("peak heap during the attack (one decoded 46000x46000 bomb alone would take 2 GB)").isLessThan(1L << 30);
        assertThat(threadsAfter).as("server threads after the attack (3 request threads stay)").isLessThanOrEqualTo(3);
        assertThat(Thread.getAllStackTraces().keySet()).as("the follower's thread ended").noneMatch(t -> t.getName().equals("wrn-model-follower"));
        assertThat(get("/healthz").statusCode()).isEqualTo(200);
    }

    private static ModelUpdate forgedUpdate(long version, String location, long size) {
        return new ModelUpdate("tiny", version, 99, 999, 1, 0.01, 99L, location, "0".repeat(64), size, version, System.currentTimeMillis());
    }

    /** Peak heap use since the last reset, summed over the heap pools, and resets it. */
    private static long peakHeapReset() {
        long peak = 0;
        for (java.lang.management.MemoryPoolMXBean pool : java.lang.management.ManagementFactory.getMemoryPoolMXBeans()) {
            if (pool.getType() == java.lang.management.MemoryType.HEAP && pool.getPeakUsage() != null) {
                peak += pool.getPeakUsage().getUsed();
                pool.resetPeakUsage();
            }
        }
        return peak;
    }

    @Test
    void aCorruptUpdateIsRefusedAndTheCurrentModelStays() throws Exception {
        start(ServeConfig.DEFAULT_MAX_REQUEST_BYTES);
        server.load(update(modelA, 1));
        ModelUpdate bad = new ModelUpdate("tiny", 2, 3, 24, 0, null, null, modelB.toUri().toString(), "0".repeat(64), Files.size(modelB), 9, 0);
        assertThatThrownBy(() -> server.load(bad)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("the update announced 0000");
        assertThat(server.current().version()).isEqualTo(1);
        assertThat(server.metrics().loadFailures()).isEqualTo(1);
        assertThat(get("/metrics").body()).contains("wrn_serve_model_load_failures_total 1");
    }

    @Test
    void hotSwapUnderConcurrentRequestsNeverFailsARequest() throws Exception {
        start(ServeConfig.DEFAULT_MAX_REQUEST_BYTES);
        ModelUpdate v1 = update(modelA, 1);
        ModelUpdate v2 = update(modelB, 2);
        server.load(v1);
        byte[] png = TinyModels.png(TinyModels.image(9, 3, 16, 16));
        AtomicBoolean swapping = new AtomicBoolean(true);
        List<String> outcomes = Collections.synchronizedList(new ArrayList<>());
        ExecutorService clients = Executors.newFixedThreadPool(2);
        List<Future<?>> hammers = new ArrayList<>();
        for (int t = 0; t < 2; t++) {
            hammers.add(clients.submit(() -> {
                while (swapping.get()) {
                    HttpResponse<String> r = post("/v1/predict", png);
                    outcomes.add(r.statusCode() + " v" + (r.statusCode() == 200 ? json(r).get("model_version").asLong() : -1));
                }
                return null;
            }));
        }
        for (int i = 0; i < 6; i++) server.load(i % 2 == 0 ? v2 : v1);
        swapping.set(false);
        for (Future<?> f : hammers) f.get();
        clients.shutdown();
        Set<String> distinct = new TreeSet<>(outcomes);
        assertThat(outcomes).isNotEmpty();
        assertThat(distinct).as("every response is 200 and names the old or the new version").isSubsetOf("200 v1", "200 v2");
        assertThat(server.metrics().loads()).isEqualTo(7);
        assertThat(server.current().version()).isEqualTo(1);
    }

    @Test
    void serveCommandLoadsAModelFileGivenWithModel() throws Exception {
        ServeCommand cmd = new ServeCommand();
        new CommandLine(cmd).parseArgs("--model", modelB.toString(), "--port", "0", "--bind", "127.0.0.1");
        try (ServeCommand.Running running = cmd.start()) {
            server = null;
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + running.server().port() + "/readyz")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(running.server().current().step()).isEqualTo(3);
        }
        assertThatThrownBy(() -> new ServeConfig("0.0.0.0", 70_000, 4, 1 << 20, null))
                .hasMessage("Invalid value 70000 for --port: must be in [0, 65535]");
        assertThatThrownBy(() -> new ServeConfig("0.0.0.0", 8080, 4, 10, null))
                .hasMessage("Invalid value 10 for --max-request-bytes: must be >= 1024");
    }

    private static ModelUpdate update(Path file, long version) throws Exception {
        byte[] b = Files.readAllBytes(file);
        ModelFile.Provenance p = ModelFile.read(b, file.toString()).provenance();
        return new ModelUpdate("tiny", version, p.steps(), p.imagesSeen(), 0, 0.5, p.steps(), file.toUri().toString(), ModelFile.sha256(b),
                b.length, version, System.currentTimeMillis());
    }

    private static void assertError(HttpResponse<String> r, int status, String message) throws Exception {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
        assertThat(r.headers().firstValue("Content-Type")).hasValue("application/json");
        JsonNode n = json(r);
        assertThat(n.get("status").asInt()).isEqualTo(status);
        assertThat(n.get("error").asText()).isEqualTo(message);
    }

    private static JsonNode json(HttpResponse<String> r) throws Exception {
        return JSON.readTree(r.body());
    }

    private URI uri(String path) {
        return URI.create("http://127.0.0.1:" + server.port() + path);
    }

    private HttpResponse<String> get(String path) throws Exception {
        return send(HttpRequest.newBuilder(uri(path)).GET().build());
    }

    private HttpResponse<String> post(String path, byte[] body) throws Exception {
        return send(HttpRequest.newBuilder(uri(path)).header("Content-Type", "image/png").POST(HttpRequest.BodyPublishers.ofByteArray(body)).build());
    }

    private HttpResponse<String> send(HttpRequest r) throws Exception {
        return http.send(r, HttpResponse.BodyHandlers.ofString());
    }
}
