package io.wrnstream.cli;

import io.wrnstream.model.Defaults;
import io.wrnstream.model.progress.Progress;

import io.wrnstream.model.engine.Batch;
import io.wrnstream.model.engine.EngineOptions;
import io.wrnstream.model.engine.Engines;
import io.wrnstream.model.engine.TrainConfig;
import io.wrnstream.model.engine.TrainingEngine;
import io.wrnstream.model.wrn.WrnConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code bench}: times forward+backward+update steps of a WRN on random data after warm-up, on either engine
 * ({@code --engine dl4j|libtorch}, {@code --precision fp32|bf16}). Prints a table and, as its last line, one JSON object. Whether the CPU fast path is on is fixed when ND4J loads, so compare on and off in
 * two runs ({@code --fast-path off}).
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
        WrnConfig wrn = WrnConfig.parse(model);
        // validates engine and precision (messages name the setting) before any native library loads
        TrainConfig config = TrainConfig.paper(wrn).withBatchSize(batch).withSeed(seed).withEngine(engine, precision);
        int usedThreads = threads == 0 ? Runtime.getRuntime().availableProcessors() : threads;
        EngineOptions options = EngineRuntime.init(engine, on, usedThreads);

        Batch data = randomBatch(wrn, batch, seed);
        double[] ms = new double[steps];
        double[] workerMs = new double[steps];
        Map<String, Object> runFacts = Map.of();
        try (TrainingEngine engine = Engines.create(config, options)) {
            Progress progress = new Progress("bench " + wrn.name(), warmup + steps, "steps");
            for (int i = 0; i < warmup; i++) {
                engine.trainStep(data);
                progress.update(i + 1, "warm-up");
            }
            for (int i = 0; i < steps; i++) {
                long t0 = System.nanoTime();
                engine.trainStep(data);
                ms[i] = (System.nanoTime() - t0) / 1e6;
                workerMs[i] = engine.lastStepInsideMillis();
                progress.update(warmup + i + 1, String.format(Locale.ROOT, "%.0f ms/step", ms[i]));
            }
            progress.finish(warmup + steps, "");
            runFacts = engine.runFacts();
        }
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
        out.put("peak_rss_mb", peakRssMb());
        out.put("threads", usedThreads);
        out.put("onednn", onednn);
        out.put("fast_path", dl4j && on);
        out.put("params", wrn.trainableParameters());
        if (!Double.isNaN(workerMs[0])) {
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
                wrn.name(), engine, config.precision(), batch, usedThreads, batch / (p50 / 1000.0), p50, p90, peakRssMb(), onednn);
        System.out.println(Json.line(out));
        return 0;
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
