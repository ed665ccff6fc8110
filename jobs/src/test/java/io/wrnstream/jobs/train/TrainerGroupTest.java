package io.wrnstream.jobs.train;

import static org.assertj.core.api.Assertions.assertThat;

import io.wrnstream.jobs.augment.AugmentedImage;
import io.wrnstream.jobs.update.ModelCandidate;
import io.wrnstream.model.engine.AbstractEngine;
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
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * The exactly-once protocol of two data-parallel trainer ranks (real libtorch engines over Gloo on 127.0.0.1, no
 * Flink): a rank that took a barrier contributes nothing until both have; the last one stores the model; restored ranks
 * continue exactly as the uninterrupted run.
 */
class TrainerGroupTest {
    private static final TrainConfig TRAIN = TinyData.tiny(0.0).withEngine("libtorch", "fp32");
    private static final Trainer.Settings SETTINGS = new Trainer.Settings(4, 0, Duration.ZERO, 100, Duration.ZERO, 1, true, 1);
    private static final Duration FLUSH = Duration.ofSeconds(1);
    private static final ExecutorService RANKS = Executors.newFixedThreadPool(2);

    @AfterAll
    static void stop() {
        RANKS.shutdownNow();
    }

    private static final class Recorded implements Trainer.Outputs {
        final List<TrainerEvent> events = new ArrayList<>();
        final List<ModelCandidate> finals = new ArrayList<>();

        @Override
        public void event(TrainerEvent event) {
            events.add(event);
        }

        @Override
        public void snapshot(ModelSnapshot snapshot, long nanos) {}

        @Override
        public void candidate(ModelCandidate candidate) {}

        @Override
        public void finalModel(ModelCandidate model) {
            finals.add(model);
        }

        TrainerEvent last(TrainerEvent.Kind kind) {
            return events.stream().filter(e -> e.kind() == kind).reduce((a, b) -> b).orElseThrow();
        }
    }

    /** One rank's script, run on its own thread with its own trainer, clock and group. */
    private interface Script<T> {
        T run(int rank, Rank r);
    }

    private record Rank(Trainer trainer, AtomicLong clock, Recorded out) {
        void timer() {
            clock.addAndGet(2 * FLUSH.toNanos());
            trainer.onTimer();
        }
    }

    private static <T> List<T> onTwoRanks(String generation, List<TrainerState> restore, long restoredDigest, Script<T> script) throws Exception {
        CompletableFuture<InetSocketAddress> hosted = new CompletableFuture<>();
        List<Future<T>> futures = new ArrayList<>();
        for (int r = 0; r < 2; r++) {
            int rank = r;
            futures.add(RANKS.submit(() -> {
                int port = rank == 0 ? 0 : hosted.get(30, TimeUnit.SECONDS).getPort();
                try (ProcessGroup g = Engines.provider("libtorch").openGroup(new GroupSpec(rank, 2, "127.0.0.1", port, generation,
                        Duration.ofSeconds(30)), hosted::complete)) {
                    AtomicLong clock = new AtomicLong();
                    Recorded out = new Recorded();
                    Trainer.Group peers = new Trainer.Group() {
                        @Override
                        public int rank() {
                            return g.rank();
                        }

                        @Override
                        public int size() {
                            return g.size();
                        }

                        @Override
                        public GroupStep step(List<Batch> shares, long[] signals) {
                            return ((AbstractEngine) trainerEngine[rank]).trainStep(shares, signals, g);
                        }

                        @Override
                        public long arrive(String key) {
                            return g.arrive(key);
                        }
                    };
                    Trainer t;
                    if (restore == null) {
                        trainerEngine[rank] = Engines.create(TRAIN);
                        t = Trainer.start(TRAIN, SETTINGS, trainerEngine[rank], out, clock::get).joining(peers, FLUSH, 0, 0);
                    } else {
                        TrainerState own = restore.get(rank);
                        byte[] model = restore.stream().filter(s -> s.engine().length > 0).findFirst().orElseThrow().engine();
                        trainerEngine[rank] = Engines.restore(model);
                        TrainerState s = new TrainerState(own.checkpointId(), model, own.step(), own.imagesSeen(), own.snapshotVersion(),
                                own.lastSnapshotStep(), own.trainingNanos(), own.finished(), own.pending());
                        t = Trainer.resume(TRAIN, SETTINGS, trainerEngine[rank], s, out, clock::get).joining(peers, FLUSH, own.checkpointId(), restoredDigest);
                    }
                    try (t) {
                        return script.run(rank, new Rank(t, clock, out));
                    }
                }
            }));
        }
        List<T> out = new ArrayList<>();
        for (Future<T> f : futures) out.add(f.get(120, TimeUnit.SECONDS));
        return out;
    }

    private static final io.wrnstream.model.engine.TrainingEngine[] trainerEngine = new io.wrnstream.model.engine.TrainingEngine[2];

    private static AugmentedImage image(int rank, int i) {
        io.wrnstream.model.engine.PixelBatch b = TinyData.pixelBatch(TRAIN, 1, 100L * rank + i);
        return new AugmentedImage(100L * rank + i, 0, b.labels()[0], b.pixels());
    }

    private record Outcome(TrainerState checkpoint, long checkpointDigest, TrainerEvent finished, long finalCrc) {}

    private static long digest(int... rankAndIndex) {
        long d = 0;
        for (int i = 0; i < rankAndIndex.length; i += 2) d += TrainerEvent.digestOf(100L * rankAndIndex[i] + rankAndIndex[i + 1]);
        return d;
    }

    @Test
    void theRankThatTakesTheBarrierLastStoresTheModelAndRestoredRanksContinueExactly() throws Exception {
        List<Outcome> run = onTwoRanks("protocol", null, 0, (rank, r) -> {
            Trainer t = r.trainer();
            Trainer.Checkpoint checkpoint;
            if (rank == 0) {
                t.add(image(0, 0));
                t.add(image(0, 1));        // step 1: 2 + 2 images
                t.add(image(0, 2));        // pending, not a full share
                t.beforeBarrier(1);        // first to arrive: not the last
                checkpoint = t.checkpoint(1);
                t.add(image(0, 3));        // frozen: joins step 2 with nothing
                r.timer();                 // step 3: both frozen, nothing trained; both have taken barrier 1 now
                r.timer();                 // step 4: its two held images; the replica digests travel and agree
            } else {
                t.add(image(1, 0));
                t.add(image(1, 1));        // step 1
                t.add(image(1, 2));
                t.add(image(1, 3));        // step 2: only this rank's two images
                t.beforeBarrier(1);        // arrives last: stores the model of step 2
                checkpoint = t.checkpoint(1);
                r.timer();                 // step 3
                r.timer();                 // step 4: nothing to give
            }
            t.endInput();                  // step 5: every input ended, nothing held: finished
            TrainerEvent end = rank == 0 ? r.out().last(TrainerEvent.Kind.FINISHED) : null;
            return new Outcome(checkpoint.state(), checkpoint.trainedDigest(), end, Trainer.crc(t.engine().snapshot()));
        });
        TrainerState s0 = run.get(0).checkpoint(), s1 = run.get(1).checkpoint();
        assertThat(s0.engine()).as("rank 0 arrived first: it stores no model").isEmpty();
        assertThat(s1.engine()).as("rank 1 arrived last: it stores the model").isNotEmpty();
        assertThat(s1.step()).isEqualTo(2);
        assertThat(s1.imagesSeen()).isEqualTo(6);
        assertThat(s0.pending()).extracting(AugmentedImage::id).as("rank 0's untrained image at its barrier").containsExactly(2L);
        assertThat(run.get(0).finished().imagesSeen()).isEqualTo(8);
        assertThat(run.get(1).checkpointDigest()).as("the stored model's images: both of rank 0's first, all four of rank 1's")
                .isEqualTo(digest(0, 0, 0, 1, 1, 0, 1, 1, 1, 2, 1, 3));
        assertThat(run.get(0).finished().trainedDigest()).as("every image once").isEqualTo(digest(0, 0, 0, 1, 0, 2, 0, 3, 1, 0, 1, 1, 1, 2, 1, 3));
        assertThat(run.get(0).finalCrc()).as("replicas identical").isEqualTo(run.get(1).finalCrc());

        // Restore both ranks from checkpoint 1; the source replays what came after each rank's barrier: rank 0's image 3.
        List<Long> again = onTwoRanks("protocol-restored", List.of(s0, s1), run.get(1).checkpointDigest(), (rank, r) -> {
            Trainer t = r.trainer();
            if (rank == 0) {
                t.add(image(0, 3));        // with the restored image 2: a full share, step 3
            } else {
                r.timer();                 // step 3 with nothing
            }
            t.endInput();
            if (rank == 0) {
                assertThat(r.out().last(TrainerEvent.Kind.FINISHED).imagesSeen()).isEqualTo(8);
                assertThat(r.out().last(TrainerEvent.Kind.FINISHED).trainedDigest()).as("nothing lost or repeated across the restore")
                        .isEqualTo(digest(0, 0, 0, 1, 0, 2, 0, 3, 1, 0, 1, 1, 1, 2, 1, 3));
            }
            return Trainer.crc(t.engine().snapshot());
        });
        assertThat(again.get(0)).isEqualTo(again.get(1));
        assertThat(again.get(0)).as("the restored run ends with the uninterrupted run's parameters").isEqualTo(run.get(0).finalCrc());
    }
}
