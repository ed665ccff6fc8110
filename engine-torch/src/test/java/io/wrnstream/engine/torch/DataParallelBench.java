package io.wrnstream.engine.torch;

import io.wrnstream.model.engine.Batch;
import io.wrnstream.model.engine.GroupSpec;
import io.wrnstream.model.engine.ProcessGroup;
import io.wrnstream.model.engine.TinyData;
import io.wrnstream.model.engine.TrainConfig;
import io.wrnstream.model.wrn.WrnConfig;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Benchmark (not a test): images/s and the all-reduce share of a step for one rank with T threads against R ranks
 * (threads of this JVM, Gloo over 127.0.0.1) with T/R threads each, on the same global batch. One JSON line per run.
 *
 * <pre>java -cp ... io.wrnstream.engine.torch.DataParallelBench 2x1 wrn-16-4 fp32 128 8</pre>
 */
public final class DataParallelBench {
    private DataParallelBench() {}

    public static void main(String[] args) throws Exception {
        String mode = args[0];
        int ranks = Integer.parseInt(mode.split("x")[0]), threads = Integer.parseInt(mode.split("x")[1]);
        String[] dk = args[1].replace("wrn-", "").split("-");
        String precision = args[2];
        int batch = Integer.parseInt(args[3]), steps = Integer.parseInt(args[4]);
        WrnConfig wrn = new WrnConfig(Integer.parseInt(dk[0]), Integer.parseInt(dk[1]), 0.0, 10, 3, 32, 32);
        TrainConfig config = TrainConfig.paper(wrn).withEngine("libtorch", precision);
        LibtorchEngine.setThreads(threads);
        double[] stepSeconds = new double[steps];
        double[] exchangeSeconds = new double[steps];
        if (ranks == 1) {
            try (LibtorchEngine e = LibtorchEngine.create(config)) {
                for (int s = -2; s < steps; s++) {
                    Batch b = TinyData.batch(config, batch, s + 100);
                    long t0 = System.nanoTime();
                    e.trainStep(b);
                    if (s >= 0) stepSeconds[s] = (System.nanoTime() - t0) / 1e9;
                }
            }
        } else {
            ExecutorService pool = Executors.newFixedThreadPool(ranks);
            CompletableFuture<InetSocketAddress> hosted = new CompletableFuture<>();
            List<Future<double[][]>> futures = new ArrayList<>();
            for (int r = 0; r < ranks; r++) {
                int rank = r;
                futures.add(pool.submit(() -> {
                    int port = rank == 0 ? 0 : hosted.get().getPort();
                    double[][] t = new double[2][steps];
                    try (ProcessGroup g = C10dGroup.open(new GroupSpec(rank, ranks, "127.0.0.1", port, "bench", Duration.ofSeconds(120)),
                            hosted::complete, false); LibtorchEngine e = LibtorchEngine.create(config)) {
                        for (int s = -2; s < steps; s++) {
                            Batch b = TinyData.batch(config, batch / ranks, (s + 100) * 31L + rank);
                            long t0 = System.nanoTime();
                            e.trainStep(List.of(b), new long[0], g);
                            if (s >= 0) {
                                t[0][s] = (System.nanoTime() - t0) / 1e9;
                                t[1][s] = e.lastExchangeNanos() / 1e9;
                            }
                        }
                    }
                    return t;
                }));
            }
            double[][] r0 = futures.get(0).get();
            for (Future<double[][]> f : futures) f.get();
            pool.shutdown();
            stepSeconds = r0[0];
            exchangeSeconds = r0[1];
        }
        double step = median(stepSeconds), exchange = median(exchangeSeconds);
        System.out.println(String.format(Locale.ROOT, "{\"format\":\"wrn.bench.data-parallel/1\",\"mode\":\"%d ranks x %d threads\",\"model\":\"%s\","
                        + "\"precision\":\"%s\",\"global_batch\":%d,\"steps\":%d,\"step_s_median\":%.4f,\"images_per_s\":%.1f,"
                        + "\"exchange_s_median\":%.4f,\"exchange_share\":%.3f,\"gradient_mb\":%.1f}", ranks, threads, wrn.name(), precision, batch,
                steps, step, batch / step, exchange, exchange / step, wrn.trainableParameters() * 4 / 1e6));
    }

    private static double median(double[] v) {
        double[] c = v.clone();
        Arrays.sort(c);
        return c.length == 0 ? 0 : c[c.length / 2];
    }
}
