package io.wrnstream.jobs.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.wrnstream.jobs.augment.AugmentedImage;
import io.wrnstream.jobs.update.ModelCandidate;
import io.wrnstream.model.engine.Batch;
import io.wrnstream.model.engine.Engines;
import io.wrnstream.model.engine.TinyData;
import io.wrnstream.model.engine.TrainConfig;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The Flink-free trainer: batching, bounds, cadences and events, on a tiny WRN and a hand-driven clock. */
class TrainerTest {
    private static final int BATCH = 4;
    private static final TrainConfig TRAIN = TinyData.tiny(0.0).withEngine("libtorch", "fp32");

    /** Everything the trainer emitted, in order. */
    private static final class Recorded implements Trainer.Outputs {
        final List<TrainerEvent> events = new ArrayList<>();
        final List<ModelSnapshot> snapshots = new ArrayList<>();
        final List<ModelCandidate> candidates = new ArrayList<>();
        final List<ModelCandidate> finalModels = new ArrayList<>();
        int steps;

        @Override
        public void event(TrainerEvent event) {
            events.add(event);
        }

        @Override
        public void snapshot(ModelSnapshot snapshot, long nanos) {
            snapshots.add(snapshot);
        }

        @Override
        public void candidate(ModelCandidate candidate) {
            candidates.add(candidate);
        }

        @Override
        public void finalModel(ModelCandidate model) {
            finalModels.add(model);
        }

        @Override
        public void stepped(io.wrnstream.model.engine.StepResult result, long nanos, double epochs) {
            steps++;
        }

        List<TrainerEvent> of(TrainerEvent.Kind kind) {
            return events.stream().filter(e -> e.kind() == kind).toList();
        }
    }

    private static Trainer.Settings settings(long maxImages, Duration maxTime, long snapshotSteps, Duration snapshotInterval, int publishEvery) {
        return new Trainer.Settings(BATCH, maxImages, maxTime, snapshotSteps, snapshotInterval, 1, true, publishEvery);
    }

    private static Trainer.Settings plain() {
        return settings(0, Duration.ZERO, 2, Duration.ZERO, 1);
    }

    private static List<AugmentedImage> images(long from, int n) {
        io.wrnstream.model.engine.PixelBatch b = TinyData.pixelBatch(TRAIN, n, from);
        int size = b.channels() * b.height() * b.width();
        List<AugmentedImage> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            byte[] x = new byte[size];
            System.arraycopy(b.pixels(), i * size, x, 0, size);
            out.add(new AugmentedImage(from + i, 0, b.labels()[i], x));
        }
        return out;
    }

    private static Trainer fresh(Trainer.Settings s, Recorded out, AtomicLong clock) {
        return Trainer.start(TRAIN, s, Engines.create(TRAIN), out, clock::get);
    }

    @Test
    void stepsOncePerFullBatchAndSnapshotsEveryNSteps() {
        Recorded out = new Recorded();
        try (Trainer t = fresh(plain(), out, new AtomicLong())) {
            images(0, 4 * BATCH + 1).forEach(t::add);
            assertThat(out.of(TrainerEvent.Kind.STEP)).extracting(TrainerEvent::step).containsExactly(1L, 2L, 3L, 4L);
            assertThat(out.of(TrainerEvent.Kind.STEP)).extracting(TrainerEvent::imagesSeen).containsExactly(4L, 8L, 12L, 16L);
            assertThat(out.of(TrainerEvent.Kind.STEP)).allSatisfy(e -> assertThat(e.loss()).isFinite());
            assertThat(out.snapshots).extracting(ModelSnapshot::version, ModelSnapshot::step)
                    .containsExactly(org.assertj.core.groups.Tuple.tuple(1L, 2L), org.assertj.core.groups.Tuple.tuple(2L, 4L));
            assertThat(t.pendingImages()).isEqualTo(1);
            assertThat(out.steps).isEqualTo(4);
            assertThat(out.finalModels).isEmpty();
        }
    }

    @Test
    void endOfInputTrainsThePartialBatchAndEmitsTheFinalModelOnce() {
        Recorded out = new Recorded();
        try (Trainer t = fresh(plain(), out, new AtomicLong())) {
            images(0, BATCH + 3).forEach(t::add);
            t.endInput();
            t.endInput();
            assertThat(t.finished()).isTrue();
            assertThat(out.of(TrainerEvent.Kind.FINISHED)).singleElement().satisfies(e -> {
                assertThat(e.step()).isEqualTo(2L);
                assertThat(e.imagesSeen()).isEqualTo(BATCH + 3L);
                assertThat(e.stateDigest()).isEqualTo(Trainer.crc(out.finalModels.get(0).engine()));
            });
            assertThat(out.finalModels).singleElement().satisfies(m -> {
                assertThat(m.checkpointId()).isEqualTo(-1L);
                assertThat(m.step()).isEqualTo(2L);
            });
            assertThat(out.snapshots).as("a final snapshot for the evaluator").extracting(ModelSnapshot::step).containsExactly(2L);
            assertThat(out.candidates).as("final model offered for publication").extracting(ModelCandidate::checkpointId).containsExactly(-1L);
            t.beforeBarrier(9);
            assertThat(out.of(TrainerEvent.Kind.CHECKPOINT)).as("nothing after the end of input").isEmpty();
        }
    }

    @Test
    void stopsExactlyAtMaxImagesAndDropsTheRest() {
        Recorded out = new Recorded();
        try (Trainer t = fresh(settings(6, Duration.ZERO, 0, Duration.ZERO, 1), out, new AtomicLong())) {
            images(0, 3 * BATCH).forEach(t::add);
            assertThat(t.finished()).as("finished by the bound, before the end of input").isTrue();
            t.endInput();
            assertThat(out.of(TrainerEvent.Kind.STEP)).extracting(TrainerEvent::imagesSeen).containsExactly(4L, 6L);
            assertThat(out.of(TrainerEvent.Kind.FINISHED)).singleElement().extracting(TrainerEvent::imagesSeen).isEqualTo(6L);
            assertThat(out.finalModels).hasSize(1);
        }
    }

    @Test
    void stopsAtMaxTimeOfTrainingTime() {
        Recorded out = new Recorded();
        AtomicLong clock = new AtomicLong();
        // Every clock read moves time on by one second: each step measures one second of training.
        try (Trainer t = Trainer.start(TRAIN, settings(0, Duration.ofSeconds(2), 0, Duration.ZERO, 1), Engines.create(TRAIN), out,
                () -> clock.addAndGet(1_000_000_000L))) {
            images(0, 5 * BATCH).forEach(t::add);
            assertThat(t.finished()).isTrue();
            assertThat(out.of(TrainerEvent.Kind.FINISHED)).singleElement().extracting(TrainerEvent::step).isEqualTo(2L);
        }
    }

    @Test
    void snapshotsWhenTheIntervalPassed() {
        Recorded out = new Recorded();
        AtomicLong clock = new AtomicLong();
        try (Trainer t = fresh(settings(0, Duration.ZERO, 0, Duration.ofMinutes(1), 1), out, clock)) {
            images(0, 2 * BATCH).forEach(t::add);
            assertThat(out.snapshots).isEmpty();
            clock.addAndGet(Duration.ofMinutes(1).toNanos());
            images(100, BATCH).forEach(t::add);
            assertThat(out.snapshots).extracting(ModelSnapshot::step).containsExactly(3L);
            images(200, BATCH).forEach(t::add);
            assertThat(out.snapshots).as("the interval restarts at each snapshot").hasSize(1);
        }
    }

    @Test
    void offersTheCheckpointModelOnlyWhenTrainingAdvancedAndPublicationIsDue() {
        Recorded out = new Recorded();
        try (Trainer t = fresh(settings(0, Duration.ZERO, 0, Duration.ZERO, 2), out, new AtomicLong())) {
            t.beforeBarrier(1);
            images(0, BATCH).forEach(t::add);
            t.beforeBarrier(2); // second checkpoint, training advanced: due
            t.beforeBarrier(3);
            t.beforeBarrier(4); // due again, but no step since the last offer
            assertThat(out.candidates).extracting(ModelCandidate::checkpointId).containsExactly(2L);
            assertThat(out.of(TrainerEvent.Kind.CHECKPOINT)).extracting(TrainerEvent::checkpointId).containsExactly(1L, 2L, 3L, 4L);
        }
    }

    @Test
    void resumesFromItsCheckpointExactlyAsIfItNeverStopped() {
        AtomicLong clock = new AtomicLong();
        Recorded first = new Recorded();
        TrainerState state;
        long uninterrupted;
        try (Trainer t = fresh(plain(), first, clock)) {
            images(0, 2 * BATCH + 2).forEach(t::add);
            t.beforeBarrier(7);
            state = TrainerStateSerializer.deserialize(TrainerStateSerializer.serialize(t.checkpoint(7).state()), TRAIN.wrn().channels());
            images(100, BATCH - 2).forEach(t::add);
            t.endInput();
            uninterrupted = first.of(TrainerEvent.Kind.FINISHED).get(0).stateDigest();
        }
        assertThat(state.pending()).hasSize(2);
        assertThat(state.snapshotVersion()).isEqualTo(1L);

        Recorded second = new Recorded();
        try (Trainer t = Trainer.resume(TRAIN, plain(), Engines.restore(state.engine()), state, second, clock::get)) {
            assertThat(second.events.get(0)).satisfies(e -> {
                assertThat(e.kind()).isEqualTo(TrainerEvent.Kind.RESTORED);
                assertThat(e.checkpointId()).isEqualTo(7L);
                assertThat(e.stateDigest()).isEqualTo(first.of(TrainerEvent.Kind.CHECKPOINT).get(0).stateDigest());
            });
            images(100, BATCH - 2).forEach(t::add);
            t.endInput();
            assertThat(second.of(TrainerEvent.Kind.FINISHED).get(0).stateDigest()).isEqualTo(uninterrupted);
            assertThat(second.snapshots).extracting(ModelSnapshot::version).as("versions continue").containsExactly(2L);
        }
    }

    @Test
    void anOverlappedStepsResultIsTakenWhenTheNextBatchIsFull() {
        Recorded out = new Recorded();
        try (Trainer t = fresh(plain(), out, new AtomicLong()).overlapSteps()) {
            assertThat(t.overlapping()).isTrue();
            images(0, BATCH).forEach(t::add);
            assertThat(out.steps).as("the first step runs on the step thread; add() returned without its result").isZero();
            images(BATCH, BATCH).forEach(t::add);
            assertThat(out.of(TrainerEvent.Kind.STEP)).extracting(TrainerEvent::step).containsExactly(1L);
            t.beforeBarrier(1);
            assertThat(out.of(TrainerEvent.Kind.CHECKPOINT)).singleElement().extracting(TrainerEvent::step).as("the step in flight is in it")
                    .isEqualTo(2L);
        }
    }

    @Test
    void overlappedTrainingStopsExactlyAtMaxImagesWithoutWaitingForMoreInput() {
        Recorded out = new Recorded();
        try (Trainer t = fresh(settings(6, Duration.ZERO, 0, Duration.ZERO, 1), out, new AtomicLong()).overlapSteps()) {
            images(0, 6).forEach(t::add);
            assertThat(t.finished()).as("the step that reaches the bound is waited for at once").isTrue();
            images(6, 3).forEach(t::add);
            t.endInput();
            assertThat(out.of(TrainerEvent.Kind.STEP)).extracting(TrainerEvent::imagesSeen).containsExactly(4L, 6L);
            assertThat(out.of(TrainerEvent.Kind.FINISHED)).singleElement().extracting(TrainerEvent::imagesSeen).isEqualTo(6L);
        }
    }

    @Test
    void refusesAnImageOfTheWrongSize() {
        try (Trainer t = fresh(plain(), new Recorded(), new AtomicLong())) {
            for (int i = 0; i < BATCH - 1; i++) t.add(images(i, 1).get(0));
            assertThatThrownBy(() -> t.add(new AugmentedImage(99, 0, 1, new byte[5])))
                    .isInstanceOf(IllegalStateException.class).hasMessage("Augmented image 99 has 5 pixels, the model takes 192");
        }
    }

    @Test
    void settingsNameTheBadValue() {
        assertThatThrownBy(() -> new Trainer.Settings(0, 0, Duration.ZERO, 0, Duration.ZERO, 1, true, 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("Invalid value 0 for batch-size: must be >= 1");
        assertThatThrownBy(() -> new Trainer.Settings(4, 0, Duration.ZERO, 0, Duration.ZERO, 0, true, 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("Invalid value 0 for progress.steps: must be >= 1");
    }
}
