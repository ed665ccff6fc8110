package io.wrnstream.engine.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.wrnstream.model.engine.Batch;
import io.wrnstream.model.engine.Engines;
import io.wrnstream.model.engine.GroupSpec;
import io.wrnstream.model.engine.GroupStep;
import io.wrnstream.model.engine.ProcessGroup;
import io.wrnstream.model.engine.TinyData;
import io.wrnstream.model.engine.TrainConfig;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Data-parallel steps of the worker engine: two ranks (two engines in one JVM, each with its own PyTorch worker) over
 * Gloo on 127.0.0.1 equal one engine accumulating the same two sub-batches, the replicas stay bit-identical, and a
 * killed peer fails the other rank within the timeout. WRN-10-1 on 8x8 images, batches of 5 and 3. Skipped, saying
 * why, where no Python with PyTorch is found.
 */
class WorkerDataParallelTest {
    private static final TrainConfig TINY = TinyData.tiny(0.3).withEngine("worker", "fp32");
    private static final ExecutorService RANKS = Executors.newFixedThreadPool(2);
    private static final int STEPS = 3;

    @BeforeAll
    static void needsPythonWithTorch() {
        String reason = null;
        try (WorkerProcess w = WorkerProcess.start()) {
            // started: an interpreter with PyTorch exists
        } catch (IllegalStateException e) {
            reason = e.getMessage();
        }
        String why = reason;
        assumeTrue(why == null, () -> "skipped: " + why + " (apt-get install python3-torch, or pip install torch)");
    }

    @AfterAll
    static void stop() {
        RANKS.shutdownNow();
    }

    private interface RankWork<T> {
        T run(int rank, ProcessGroup group) throws Exception;
    }

    /** Opens a 2-rank group (rank 0's worker hosts the store on a free port) and runs {@code work(rank, group)} on each rank's thread. */
    private static <T> List<T> onTwoRanks(String generation, Duration timeout, RankWork<T> work) throws Exception {
        WorkerEngineProvider provider = new WorkerEngineProvider();
        CompletableFuture<InetSocketAddress> hosted = new CompletableFuture<>();
        List<Future<T>> futures = new ArrayList<>();
        for (int r = 0; r < 2; r++) {
            int rank = r;
            futures.add(RANKS.submit(() -> {
                int port = rank == 0 ? 0 : hosted.get(60, TimeUnit.SECONDS).getPort();
                try (ProcessGroup g = provider.openGroup(new GroupSpec(rank, 2, "127.0.0.1", port, generation, timeout), hosted::complete)) {
                    return work.run(rank, g);
                }
            }));
        }
        List<T> out = new ArrayList<>();
        for (Future<T> f : futures) out.add(f.get(180, TimeUnit.SECONDS));
        return out;
    }

    private static Batch sub(int step, int rank) {
        return TinyData.batch(TINY, rank == 0 ? 5 : 3, 1000L * step + rank);
    }

    private static long crc(byte[] b) {
        CRC32 c = new CRC32();
        c.update(b);
        return c.getValue();
    }

    /** Largest |a-b| / max(|b|, 1e-3) over the parameters and BN statistics. */
    private static double maxRelative(float[] a, float[] b) {
        double worst = 0;
        for (int i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(Math.abs(b[i]), 1e-3));
        return worst;
    }

    private record RankRun(float[] params, List<Long> crcs, List<GroupStep> steps, long arrived) {}

    @Test
    void twoWorkerRanksEqualOneRankAccumulatingTheSameTwoSubBatches() throws Exception {
        List<RankRun> ranks = onTwoRanks("equivalence", Duration.ofSeconds(60), (rank, g) -> {
            try (WorkerEngine e = (WorkerEngine) Engines.create(TINY)) {
                List<GroupStep> steps = new ArrayList<>();
                List<Long> crcs = new ArrayList<>();
                for (int s = 0; s < STEPS; s++) {
                    steps.add(e.trainStep(List.of(sub(s, rank)), new long[] {rank * 10L + s, -1L - s}, g));
                    crcs.add(crc(e.snapshot()));
                }
                return new RankRun(e.snapshotState().params(), crcs, steps, g.arrive("checkpoint-1"));
            }
        });
        assertThat(ranks.get(0).crcs()).as("replicas bit-identical after every step").isEqualTo(ranks.get(1).crcs());
        assertThat(List.of(ranks.get(0).arrived(), ranks.get(1).arrived())).as("the store's atomic add counts both arrivals")
                .containsExactlyInAnyOrder(1L, 2L);
        float[] reference;
        List<GroupStep> referenceSteps = new ArrayList<>();
        try (WorkerEngine solo = (WorkerEngine) Engines.create(TINY)) {
            float[] untrained = solo.snapshotState().params();
            for (int s = 0; s < STEPS; s++) referenceSteps.add(solo.trainStep(List.of(sub(s, 0), sub(s, 1)), new long[] {s}, ProcessGroup.SOLO));
            reference = solo.snapshotState().params();
            assertThat(solo.step()).isEqualTo(STEPS);
            assertThat(solo.imagesSeen()).isEqualTo(8L * STEPS);
            assertThat(maxRelative(ranks.get(0).params(), untrained)).as("training moved the parameters").isGreaterThan(1e-3);
        }
        assertThat(maxRelative(ranks.get(0).params(), reference)).as("equal to one rank accumulating both sub-batches").isLessThan(1e-5);
        for (int s = 0; s < STEPS; s++) {
            GroupStep a = ranks.get(0).steps().get(s), b = ranks.get(1).steps().get(s), ref = referenceSteps.get(s);
            assertThat(a.result()).isEqualTo(b.result());
            assertThat(a.result().imagesSeen()).isEqualTo(8L * (s + 1));
            assertThat(a.result().nonFinite()).isFalse();
            assertThat(a.result().loss()).as("image-weighted loss").isCloseTo(ref.result().loss(), Offset.offset(1e-5));
            assertThat(a.result().accuracy()).isEqualTo(ref.result().accuracy());
            assertThat(a.images()).containsExactly(5, 3);
            assertThat(a.signals()).as("int64 signals gathered by rank").isDeepEqualTo(new long[][] {{s, -1L - s}, {10L + s, -1L - s}});
        }
    }

    @Test
    void aNonFiniteShareOnOneRankSkipsTheUpdateOnBothAndKeepsTheStatistics() throws Exception {
        List<Boolean> ok = onTwoRanks("non-finite", Duration.ofSeconds(60), (rank, g) -> {
            try (WorkerEngine e = (WorkerEngine) Engines.create(TINY)) {
                Batch share = sub(0, rank);
                if (rank == 1) {
                    float[] x = share.x().clone();
                    x[5] = Float.NaN;
                    share = new Batch(x, share.labels(), share.channels(), share.height(), share.width());
                }
                float[] before = e.snapshotState().params();
                GroupStep st = e.trainStep(List.of(share), new long[0], g);
                assertThat(st.result().nonFinite()).as("skipped on rank %d", rank).isTrue();
                assertThat(st.result().imagesSeen()).as("the images still count").isEqualTo(8);
                assertThat(e.snapshotState().params()).as("parameters and BatchNorm statistics unchanged on rank %d", rank).isEqualTo(before);
                assertThat(e.trainStep(List.of(sub(1, rank)), new long[0], g).result().nonFinite()).isFalse();
                return true;
            }
        });
        assertThat(ok).containsExactly(true, true);
    }

    @Test
    void aKilledPeerFailsTheOtherRankWithinTheTimeout() throws Exception {
        Duration timeout = Duration.ofSeconds(10);
        CompletableFuture<Void> dead = new CompletableFuture<>();
        List<Object> outcome = onTwoRanks("dead-peer", timeout, (rank, g) -> {
            if (rank == 1) {  // joined, then its worker dies before the first step
                ((WorkerGroup) g).worker().kill();
                dead.complete(null);
                return "killed";
            }
            try (WorkerEngine e = (WorkerEngine) Engines.create(TINY)) {
                dead.get(60, TimeUnit.SECONDS);
                long t0 = System.nanoTime();
                Object failure = catching(() -> e.trainStep(List.of(sub(0, 0)), new long[0], g));
                return List.of(failure, (System.nanoTime() - t0) / 1e9);
            }
        });
        List<?> rank0 = (List<?>) outcome.get(0);
        assertThat(rank0.get(0)).isInstanceOf(IllegalStateException.class);
        assertThat(((Exception) rank0.get(0)).getMessage())
                .startsWith("Data-parallel step 0 failed on rank 0 of 2: PyTorch worker: RuntimeError: all-reduce of the image counts and signals "
                        + "on rank 0 of 2 (group dead-peer, gloo) failed: ");
        assertThat((double) rank0.get(1)).as("seconds until the step failed").isLessThan(timeout.toSeconds() + 5);
    }

    @Test
    void aGroupServesOneEngineAndRefusesAGroupItDidNotOpen() throws Exception {
        onTwoRanks("one-engine", Duration.ofSeconds(60), (rank, g) -> {
            if (rank == 1) return null;
            try (WorkerEngine e = (WorkerEngine) Engines.create(TINY); WorkerEngine other = (WorkerEngine) Engines.create(TINY)) {
                ((WorkerGroup) g).adopt(e, "cpu");
                assertThatThrownBy(() -> ((WorkerGroup) g).adopt(other, "cpu")).isInstanceOf(IllegalStateException.class)
                        .hasMessage("Group one-engine already serves another worker engine: one engine per rank and group");
                assertThatThrownBy(() -> ((WorkerGroup) g).adopt(e, "cuda:1")).isInstanceOf(IllegalStateException.class)
                        .hasMessage("The worker engine on cuda:1 cannot train in group one-engine, which reduces on cpu (gloo): "
                                + "open the group with the engine's device option");
                ((WorkerGroup) g).engineClosed(e);
                ProcessGroup foreign = new ProcessGroup() {
                    public int rank() { return 0; }
                    public int size() { return 2; }
                    public long arrive(String key) { return 0; }
                    public void close() {}
                    @Override public String toString() { return "a foreign group"; }
                };
                assertThatThrownBy(() -> e.trainStep(List.of(sub(0, 0)), new long[0], foreign)).isInstanceOf(IllegalArgumentException.class)
                        .hasMessage("The worker engine exchanges gradients over a group its provider opened (WorkerEngineProvider.openGroup), not a foreign group");
            }
            return null;
        });
    }

    private static Object catching(Runnable r) {
        try {
            r.run();
            return "no failure";
        } catch (RuntimeException e) {
            return e;
        }
    }
}
