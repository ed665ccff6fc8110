package io.wrnstream.cli;

import io.wrnstream.model.Defaults;
import io.wrnstream.model.progress.Progress;

import io.wrnstream.model.engine.AbstractEngine;
import io.wrnstream.model.engine.Batch;
import io.wrnstream.model.engine.EngineOptions;
import io.wrnstream.model.engine.Engines;
import io.wrnstream.model.engine.GroupSpec;
import io.wrnstream.model.engine.ProcessGroup;
import io.wrnstream.model.engine.TrainConfig;
import io.wrnstream.model.engine.TrainingEngine;
import io.wrnstream.model.wrn.WrnConfig;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code bench}: times forward+backward+update steps of a WRN on random data after warm-up, on any engine
 * ({@code --engine dl4j|libtorch|worker}, {@code --precision fp32|bf16}). Prints a table and, as its last line, one JSON
 * object. Whether the CPU fast path is on is fixed when ND4J loads, so compare on and off in two runs
 * ({@code --fast-path off}).
 *
 * <p>{@code --ranks N} (N > 1) times data-parallel steps instead: N ranks in this JVM (a thread and an engine each,
 * engines libtorch or worker) over a group on 127.0.0.1 (Gloo with {@code --device cpu}, NCCL with {@code --device
 * cuda}, rank r on {@code cuda:r}); {@code --batch} stays the global batch, each rank trains {@code batch/N} random
 * images per step. The JSON adds the exchange's median time and each rank's snapshot CRC-32 after the timed steps,
 * which must agree ({@code replicas_identical}).
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Time SGD steps (forward+backward+update) on random data; last line: JSON.")
public final class BenchCommand implements Callable<Integer> {

    @Option(names = "--model", defaultValue = Defaults.MODEL, description = "Model spec wrn-D-K. Default: ${DEFAULT-VALUE}.")
    String model;

    @Option(names = "--batch", defaultValue = Defaults.BATCH_SIZE_TEXT, description = "Batch size. Default: ${DEFAULT-VALUE}.")
    int batch;

    @Option(names = "--threads", defaultValue = "0", description = "Compute threads (0: all cores). Default: ${DEFAULT-VALUE}.")
    int threads;

    @Option(names = "--warmup", defaultValue = "3", description = "Untimed warm-up steps. Default: ${DEFAULT-VALUE}.")
    int warmup;

    @Option(names = "--steps", defaultValue = "10", description = "Timed steps (median reported). Default: ${DEFAULT-VALUE}.")
    int steps;

    @Option(names = "--fast-path", defaultValue = "on", description = "CPU fast path (oneDNN + DL4J helpers): on or off. Default: ${DEFAULT-VALUE}.")
    String fastPath;

    @Option(names = "--engine", defaultValue = Defaults.ENGINE, description = "Numeric engine: libtorch, dl4j or worker (the host's PyTorch in a worker process). Default: ${DEFAULT-VALUE}.")
    String engine;

    @Option(names = "--precision", defaultValue = Defaults.PRECISION, description = "fp32, bf16 (libtorch only: autocast, fp32 master weights), or auto: bf16 for libtorch where the CPU has AVX-512-BF16/AMX or on a GPU, else fp32. Default: ${DEFAULT-VALUE}.")
    String precision;

    @Option(names = "--seed", defaultValue = Defaults.SEED_TEXT, description = "Seed for weights and data. Default: ${DEFAULT-VALUE}.")
    long seed;

    @Option(names = "--device", defaultValue = "auto", description = "auto, cpu, cuda or cuda:N; with --ranks N > 1: cpu (Gloo) or cuda (rank r on cuda:r, NCCL). Default: ${DEFAULT-VALUE}.")
    String device;

    @Option(names = "--ranks", defaultValue = "1", description = "Data-parallel ranks in this JVM (engines libtorch and worker), all-reducing over 127.0.0.1; --batch is the global batch, split evenly. Default: ${DEFAULT-VALUE}.")
    int ranks;

    /** How long the bench's group waits for a rank or a collective. */
    static final Duration GROUP_TIMEOUT = Duration.ofSeconds(60);

    /** One rank's timed run: step, in-engine and exchange times per step (ms), its run facts and its final snapshot's CRC-32. */
    /** One engine's step times, and its process's peak RSS after the steps (before the final snapshot's copy). */
    private record Timing(double[] ms, double[] insideMs, double[] exchangeMs, Map<String, Object> runFacts, long peakRssMb, long crc) {}

    @Override
    public Integer call() {
        if (batch < 1) throw new IllegalArgumentException("Invalid value " + batch + " for --batch: must be >= 1");
        if (steps < 1) throw new IllegalArgumentException("Invalid value " + steps + " for --steps: must be >= 1");
        if (warmup < 0) throw new IllegalArgumentException("Invalid value " + warmup + " for --warmup: must be >= 0");
        if (threads < 0) throw new IllegalArgumentException("Invalid value " + threads + " for --threads: must be >= 0 (0 = all cores)");
        boolean on = switch (fastPath.toLowerCase(Locale.ROOT)) {
            case "on", "true" -> true;
            case "off", "false" -> false;
            default -> throw new IllegalArgumentException("Invalid value '" + fastPath + "' for --fast-path: must be on or off");
        };
        if (ranks < 1) throw new IllegalArgumentException("Invalid value " + ranks + " for --ranks: must be >= 1");
        if (!device.matches("auto|cpu|cuda(:\\d{1,2})?")) {
            throw new IllegalArgumentException("Invalid value '" + device + "' for --device: must be auto, cpu, cuda or cuda:N");
        }
        if (ranks > 1) {
            if (!device.equals("cpu") && !device.equals("cuda")) {
                throw new IllegalArgumentException("Invalid value '" + device + "' for --device with --ranks " + ranks
                        + ": must be cpu (Gloo) or cuda (rank r on cuda:r, NCCL)");
            }
            if (batch % ranks != 0) {
                throw new IllegalArgumentException("Invalid value " + batch + " for --batch with --ranks " + ranks
                        + ": must be a multiple of the ranks (each rank trains batch/ranks images)");
            }
        }
        WrnConfig wrn = WrnConfig.parse(model);
        // validates engine and precision (messages name the setting) before any native library loads
        TrainConfig config = TrainConfig.paper(wrn).withBatchSize(batch).withSeed(seed).withEngine(engine, precision);
        int usedThreads = threads == 0 ? Runtime.getRuntime().availableProcessors() : threads;
        // ranks on the CPU share its cores
        int rankThreads = ranks > 1 && device.equals("cpu") ? Math.max(1, usedThreads / ranks) : usedThreads;
        EngineOptions options = EngineRuntime.init(engine, on, rankThreads).withDevice(device);

        List<Timing> timings = ranks == 1 ? List.of(timeOneEngine(config, options)) : timeRanks(config, options);
        Timing t = timings.get(0);
        double[] ms = t.ms(), workerMs = t.insideMs();
        Map<String, Object> runFacts = t.runFacts();
        double[] sorted = ms.clone();
        Arrays.sort(sorted);
        double p50 = percentile(sorted, 50), p90 = percentile(sorted, 90);
        boolean dl4j = "dl4j".equals(engine);
        boolean onednn = Boolean.TRUE.equals(Engines.provider(engine).runtimeFacts().get("onednn"));

        Map<String, Object> out = new LinkedHashMap<>();
        out.put("format", "wrn-stream.bench/1");
        out.put("model", wrn.name());
        out.put("batch", batch);
        out.put("engine", engine);
        out.put("precision", config.precision());
        out.put("images_per_sec", round(batch / (p50 / 1000.0)));
        out.put("step_ms_p50", round(p50));
        out.put("step_ms_p90", round(p90));
        out.put("step_ms_min", round(sorted[0]));
        out.put("steps", steps);
        // training's peak (what PyTorch's side reports), and the peak once the state was also snapshotted to bytes
        out.put("peak_rss_mb", t.peakRssMb());
        out.put("peak_rss_mb_with_snapshot", peakRssMb());
        out.put("threads", usedThreads);
        out.put("onednn", onednn);
        out.put("fast_path", dl4j && on);
        out.put("params", wrn.trainableParameters());
        out.put("ranks", ranks);
        if (ranks > 1) {
            out.put("threads_per_rank", rankThreads);
            double[] x = t.exchangeMs().clone();
            Arrays.sort(x);
            out.put("exchange_ms_p50", round(percentile(x, 50)));
            List<String> crcs = timings.stream().map(r -> String.format(Locale.ROOT, "%08x", r.crc())).toList();
            out.put("replica_crcs", crcs);
            out.put("replicas_identical", crcs.stream().distinct().count() == 1);
            out.put("rank_devices", timings.stream().map(r -> r.runFacts().get("device")).toList());
        }
        if (ranks == 1 && !Double.isNaN(workerMs[0])) {
            // time inside the worker's step; the rest of step_ms is the JVM side and the transport
            double[] w = workerMs.clone();
            Arrays.sort(w);
            out.put("worker_step_ms_p50", round(percentile(w, 50)));
            out.put("transport_ms_p50", round(p50 - percentile(w, 50)));
        }
        out.putAll(runFacts);

        System.out.printf(Locale.ROOT, "%-10s %-9s %-5s %6s %8s %12s %10s %10s %12s %8s%n",
                "model", "engine", "prec", "batch", "threads", "images/s", "p50 ms", "p90 ms", "peak RSS MB", "oneDNN");
        System.out.printf(Locale.ROOT, "%-10s %-9s %-5s %6d %8d %12.1f %10.1f %10.1f %12d %8s%n",
                wrn.name(), engine, config.precision(), batch, usedThreads, batch / (p50 / 1000.0), p50, p90, t.peakRssMb(), onednn);
        if (ranks > 1) {
            System.out.printf(Locale.ROOT, "%d ranks on %s, %d images each: exchange p50 %.1f ms, replicas identical: %s %s%n", ranks,
                    out.get("rank_devices"), batch / ranks, out.get("exchange_ms_p50"), out.get("replicas_identical"), out.get("replica_crcs"));
        }
        System.out.println(Json.line(out));
        return 0;
    }

    /** Plain steps of one engine on one batch. */
    private Timing timeOneEngine(TrainConfig config, EngineOptions options) {
        WrnConfig wrn = config.wrn();
        Batch data = randomBatch(wrn, batch, seed);
        double[] ms = new double[steps], insideMs = new double[steps];
        try (TrainingEngine e = Engines.create(config, options)) {
            Progress progress = new Progress("bench " + wrn.name(), warmup + steps, "steps");
            for (int i = 0; i < warmup; i++) {
                e.trainStep(data);
                progress.update(i + 1, "warm-up");
            }
            for (int i = 0; i < steps; i++) {
                long t0 = System.nanoTime();
                e.trainStep(data);
                ms[i] = (System.nanoTime() - t0) / 1e6;
                insideMs[i] = e.lastStepInsideMillis();
                progress.update(warmup + i + 1, String.format(Locale.ROOT, "%.0f ms/step", ms[i]));
            }
            progress.finish(warmup + steps, "");
            long rss = peakRssMb();
            return new Timing(ms, insideMs, null, e.runFacts(), rss, crc(e.snapshot()));
        }
    }

    /** Data-parallel steps of {@link #ranks} engines, one thread each, over a group on 127.0.0.1 that rank 0 hosts. */
    private List<Timing> timeRanks(TrainConfig config, EngineOptions base) {
        ExecutorService pool = Executors.newFixedThreadPool(ranks, r -> {
            Thread t = new Thread(r, "bench-rank");
            t.setDaemon(true);
            return t;
        });
        CompletableFuture<InetSocketAddress> hosted = new CompletableFuture<>();
        String generation = "bench/" + ProcessHandle.current().pid() + "/" + System.nanoTime();
        try {
            List<Future<Timing>> futures = new ArrayList<>();
            for (int r = 0; r < ranks; r++) {
                int rank = r;
                futures.add(pool.submit(() -> timeRank(config, base.withDevice(device.equals("cuda") ? "cuda:" + rank : "cpu"), rank, generation, hosted)));
            }
            List<Timing> out = new ArrayList<>();
            for (Future<Timing> f : futures) out.add(f.get());
            return out;
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException re) throw re;
            throw new IllegalStateException("Rank failed: " + e.getCause(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while the ranks ran", e);
        } finally {
            pool.shutdownNow();
        }
    }

    private Timing timeRank(TrainConfig config, EngineOptions options, int rank, String generation,
                            CompletableFuture<InetSocketAddress> hosted) throws Exception {
        WrnConfig wrn = config.wrn();
        int port = rank == 0 ? 0 : hosted.get(GROUP_TIMEOUT.toSeconds(), TimeUnit.SECONDS).getPort();
        GroupSpec spec = new GroupSpec(rank, ranks, "127.0.0.1", port, generation, GROUP_TIMEOUT);
        List<Batch> share = List.of(randomBatch(wrn, batch / ranks, seed + rank));
        long[] signals = new long[0];
        double[] ms = new double[steps], insideMs = new double[steps], exchangeMs = new double[steps];
        try (ProcessGroup g = Engines.provider(config.engine()).openGroup(spec, options, hosted::complete);
             TrainingEngine te = Engines.create(config, options)) {
            if (!(te instanceof AbstractEngine e)) throw new IllegalStateException("The " + config.engine() + " engine cannot train data-parallel");
            e.trainStep(List.of(), signals, g); // joins: the worker engine moves into the group's worker, untimed
            Progress progress = rank == 0 ? new Progress("bench " + wrn.name() + " x " + ranks + " ranks", warmup + steps, "steps") : null;
            for (int i = 0; i < warmup; i++) {
                e.trainStep(share, signals, g);
                if (progress != null) progress.update(i + 1, "warm-up");
            }
            for (int i = 0; i < steps; i++) {
                long t0 = System.nanoTime();
                e.trainStep(share, signals, g);
                ms[i] = (System.nanoTime() - t0) / 1e6;
                insideMs[i] = e.lastStepInsideMillis();
                exchangeMs[i] = e.lastExchangeNanos() / 1e6;
                if (progress != null) progress.update(warmup + i + 1, String.format(Locale.ROOT, "%.0f ms/step", ms[i]));
            }
            if (progress != null) progress.finish(warmup + steps, "");
            long rss = peakRssMb();
            return new Timing(ms, insideMs, exchangeMs, e.runFacts(), rss, crc(e.snapshot()));
        }
    }

    private static long crc(byte[] bytes) {
        CRC32 c = new CRC32();
        c.update(bytes);
        return c.getValue();
    }

    static Batch randomBatch(WrnConfig wrn, int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[n * wrn.channels() * wrn.height() * wrn.width()];
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) labels[i] = r.nextInt(wrn.classes());
        return new Batch(x, labels, wrn.channels(), wrn.height(), wrn.width());
    }

    static double percentile(double[] sorted, double p) {
        double rank = p / 100.0 * (sorted.length - 1);
        int lo = (int) Math.floor(rank), hi = (int) Math.ceil(rank);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
    }

    /** Peak resident set size of this process in MB (VmHWM), or -1 where /proc is absent. */
    static long peakRssMb() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }

    private static double round(double v) {
        return Math.round(v * 10) / 10.0;
    }
}
