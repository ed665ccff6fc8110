package io.wrnstream.engine.torch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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
import java.util.function.BiFunction;
import java.util.zip.CRC32;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * Data-parallel steps of the libtorch engine over Gloo between two ranks (two threads, 127.0.0.1): equal to one engine
 * accumulating the same sub-batches, replicas bit-identical, empty contributions, signals, and a dead peer.
 */
class DataParallelTest {
    private static final TrainConfig TINY = TinyData.tiny(0.3).withEngine("libtorch", "fp32");
    private static final ExecutorService RANKS = Executors.newFixedThreadPool(2);

    @AfterAll
    static void stop() {
        RANKS.shutdownNow();
    }

    /** Opens a 2-rank group (rank 0 hosts the store on a free port) and runs {@code work(rank, group)} on each rank's thread. */
    private static <T> List<T> onTwoRanks(String generation, Duration timeout, BiFunction<Integer, ProcessGroup, T> work) throws Exception {
        TorchEngineProvider provider = new TorchEngineProvider();
        CompletableFuture<InetSocketAddress> hosted = new CompletableFuture<>();
        List<Future<T>> futures = new ArrayList<>();
        for (int r = 0; r < 2; r++) {
            int rank = r;
            futures.add(RANKS.submit(() -> {
                int port = rank == 0 ? 0 : hosted.get(30, TimeUnit.SECONDS).getPort();
                try (ProcessGroup g = provider.openGroup(new GroupSpec(rank, 2, "127.0.0.1", port, generation, timeout), hosted::complete)) {
                    return work.apply(rank, g);
                }
            }));
        }
        List<T> out = new ArrayList<>();
        for (Future<T> f : futures) out.add(f.get(120, TimeUnit.SECONDS));
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

    private record RankRun(float[] params, byte[] snapshot, List<GroupStep> steps) {}

    @Test
    void twoRanksEqualOneRankAccumulatingTheSameTwoSubBatches() throws Exception {
        List<RankRun> ranks = onTwoRanks("equivalence", Duration.ofSeconds(30), (rank, g) -> {
            try (LibtorchEngine e = (LibtorchEngine) Engines.create(TINY)) {
                List<GroupStep> steps = new ArrayList<>();
                for (int s = 0; s < 5; s++) steps.add(e.trainStep(List.of(sub(s, rank)), new long[] {rank * 10L + s}, g));
                return new RankRun(e.snapshotState().params(), e.snapshot(), steps);
            }
        });
        float[] reference;
        List<GroupStep> referenceSteps = new ArrayList<>();
        try (LibtorchEngine solo = (LibtorchEngine) Engines.create(TINY)) {
            for (int s = 0; s < 5; s++) referenceSteps.add(solo.trainStep(List.of(sub(s, 0), sub(s, 1)), new long[] {s}, ProcessGroup.SOLO));
            reference = solo.snapshotState().params();
            assertThat(solo.step()).isEqualTo(5);
            assertThat(solo.imagesSeen()).isEqualTo(40);
        }
        try (LibtorchEngine untrained = (LibtorchEngine) Engines.create(TINY)) {
            assertThat(maxRelative(ranks.get(0).params(), untrained.snapshotState().params())).as("training moved the parameters").isGreaterThan(1e-3);
        }
        assertThat(crc(ranks.get(0).snapshot())).as("replicas bit-identical").isEqualTo(crc(ranks.get(1).snapshot()));
        assertThat(maxRelative(ranks.get(0).params(), reference)).as("equal to one rank accumulating both sub-batches").isLessThan(1e-5);
        for (int s = 0; s < 5; s++) {
            GroupStep a = ranks.get(0).steps().get(s), b = ranks.get(1).steps().get(s), ref = referenceSteps.get(s);
            assertThat(a.result()).isEqualTo(b.result());
            assertThat(a.result().imagesSeen()).isEqualTo(8L * (s + 1));
            assertThat(a.result().loss()).as("image-weighted loss").isCloseTo(ref.result().loss(), org.assertj.core.data.Offset.offset(1e-5));
            assertThat(a.result().accuracy()).isEqualTo(ref.result().accuracy());
            assertThat(a.images()).containsExactly(5, 3);
            assertThat(a.signals()).as("signals gathered by rank").isDeepEqualTo(new long[][] {{s}, {10L + s}});
        }
    }

    @Test
    void aRankWithNothingToContributeStillJoinsAndTheStepIsTheOtherRanks() throws Exception {
        List<byte[]> ranks = onTwoRanks("empty", Duration.ofSeconds(30), (rank, g) -> {
            try (LibtorchEngine e = (LibtorchEngine) Engines.create(TINY)) {
                GroupStep heartbeat = e.trainStep(List.of(), new long[] {7}, g);
                assertThat(heartbeat.trained()).as("no rank had images: a heartbeat").isFalse();
                assertThat(heartbeat.signals()).isDeepEqualTo(new long[][] {{7}, {7}});
                assertThat(e.step()).isZero();
                for (int s = 0; s < 3; s++) {
                    GroupStep st = e.trainStep(rank == 0 ? List.of(sub(s, 0)) : List.of(), new long[] {0}, g);
                    assertThat(st.images()).containsExactly(5, 0);
                }
                return e.snapshot();
            }
        });
        assertThat(crc(ranks.get(0))).isEqualTo(crc(ranks.get(1)));
        try (LibtorchEngine solo = (LibtorchEngine) Engines.create(TINY)) {
            for (int s = 0; s < 3; s++) solo.trainStep(List.of(sub(s, 0)), new long[] {0}, ProcessGroup.SOLO);
            assertThat(maxRelative(LibtorchEngine.restore(io.wrnstream.model.engine.EngineState.fromBytes(ranks.get(1))).snapshotState().params(),
                    solo.snapshotState().params())).isLessThan(1e-5);
        }
    }

    @Test
    void aDeadPeerFailsTheStepWithinTheTimeout() throws Exception {
        long t0 = System.nanoTime();
        List<Object> outcome = onTwoRanks("dead-peer", Duration.ofSeconds(3), (rank, g) -> {
            if (rank == 1) return "left"; // leaves the group without stepping
            try (LibtorchEngine e = (LibtorchEngine) Engines.create(TINY)) {
                return catching(() -> e.trainStep(List.of(sub(0, 0)), new long[0], g));
            }
        });
        assertThat(outcome.get(0)).isInstanceOf(RuntimeException.class);
        assertThat((System.nanoTime() - t0) / 1e9).as("seconds until the failure").isLessThan(60);
    }

    private static Object catching(Runnable r) {
        try {
            r.run();
            return "no failure";
        } catch (RuntimeException e) {
            return e;
        }
    }

    @Test
    void dl4jRefusesMoreThanOneRank() {
        assertThatThrownBy(() -> Engines.provider("dl4j").openGroup(new GroupSpec(0, 2, "127.0.0.1", 0, "g", Duration.ofSeconds(1)), a -> {}))
                .isInstanceOf(UnsupportedOperationException.class)
                .hasMessage("The dl4j engine trains with one rank only: trainer.parallelism 2 needs engine=libtorch (or set trainer.parallelism=1)");
    }
}
