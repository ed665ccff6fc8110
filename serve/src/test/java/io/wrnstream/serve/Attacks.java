package io.wrnstream.serve;

import java.io.IOException;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;

/**
 * Hostile clients for {@code serve}'s abuse tests, each bounded in count and stopped by {@link AutoCloseable#close}:
 * connections that trickle request headers, loops of requests on a few threads, and the health probe whose answers
 * the tests judge.
 */
final class Attacks {
    private Attacks() {}

    /**
     * {@code n} connections to {@code port} that each send the start of a request header and then one more header byte
     * every 200 ms, never completing it.
     */
    static AutoCloseable slowHeaders(int port, int n) throws IOException {
        List<Socket> sockets = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Socket s = new Socket("127.0.0.1", port);
            s.getOutputStream().write("GET /healthz HTTP/1.1\r\nHost: x\r\n".getBytes(StandardCharsets.US_ASCII));
            sockets.add(s);
        }
        Loop trickle = new Loop(1, () -> {
            for (Socket s : sockets) {
                try {
                    s.getOutputStream().write('X');
                } catch (IOException closedByServer) {
                    // the server dropped it: what its request timeout is for
                }
            }
            TimeUnit.MILLISECONDS.sleep(200); // the trickle's pace, not synchronisation
            return "trickled";
        });
        return () -> {
            trickle.close();
            for (Socket s : sockets) s.close();
        };
    }

    /** Runs {@code request} again and again on {@code threads} threads until closed, counting what each call returned. */
    static final class Loop implements AutoCloseable {
        private final AtomicBoolean running = new AtomicBoolean(true);
        private final ExecutorService pool;
        private final List<Future<?>> workers = new ArrayList<>();
        private final Map<String, LongAdder> outcomes = new ConcurrentHashMap<>();

        /** {@code request} returns the outcome to count (a status code, say); an IOException counts by its class name. */
        Loop(int threads, Callable<?> request) {
            pool = Executors.newFixedThreadPool(threads);
            for (int t = 0; t < threads; t++) {
                workers.add(pool.submit(() -> {
                    while (running.get()) {
                        String outcome;
                        try {
                            outcome = String.valueOf(request.call());
                        } catch (IOException e) {
                            outcome = e.getClass().getSimpleName();
                        }
                        outcomes.computeIfAbsent(outcome, k -> new LongAdder()).increment();
                    }
                    return null;
                }));
            }
        }

        /** Calls so far by outcome, sorted. */
        Map<String, Long> outcomes() {
            Map<String, Long> m = new TreeMap<>();
            outcomes.forEach((k, v) -> m.put(k, v.sum()));
            return m;
        }

        /** Calls so far. */
        long calls() {
            return outcomes().values().stream().mapToLong(Long::longValue).sum();
        }

        /** Stops the loop, waits for the calls in flight, and fails with a worker's unexpected exception if there was one. */
        @Override
        public void close() throws Exception {
            running.set(false);
            pool.shutdown();
            if (!pool.awaitTermination(30, TimeUnit.SECONDS)) throw new AssertionError("request loop did not stop within 30 s");
            for (Future<?> w : workers) w.get();
        }
    }

    /**
     * Probes {@code health} every 100 ms for {@code duration}, each probe allowed 2 s; returns every probe's latency in
     * milliseconds and fails at the first answer other than 200.
     */
    static List<Long> probeHealth(URI health, Duration duration) throws Exception {
        HttpClient quick = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        List<Long> millis = new ArrayList<>();
        long end = System.nanoTime() + duration.toNanos();
        while (System.nanoTime() < end) {
            long t0 = System.nanoTime();
            HttpResponse<String> r = quick.send(HttpRequest.newBuilder(health).timeout(Duration.ofSeconds(2)).build(),
                    HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) throw new AssertionError("/healthz answered " + r.statusCode() + " after " + millis.size() + " probes");
            millis.add((System.nanoTime() - t0) / 1_000_000);
            TimeUnit.MILLISECONDS.sleep(100); // probe interval
        }
        return millis;
    }

    /** Live threads of the HTTP server ({@code wrn-serve-*}). */
    static long serverThreads() {
        return Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().startsWith("wrn-serve-") && t.isAlive()).count();
    }

    /** Waits up to 10 s for the server's threads to fall to {@code n} or fewer (idle request threads end after their keep-alive). */
    static long awaitServerThreadsAtMost(long n) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (serverThreads() > n && System.nanoTime() < deadline) TimeUnit.MILLISECONDS.sleep(100); // polling
        return serverThreads();
    }
}
