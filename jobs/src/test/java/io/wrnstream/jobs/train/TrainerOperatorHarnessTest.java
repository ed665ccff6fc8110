package io.wrnstream.jobs.train;

import static org.assertj.core.api.Assertions.assertThat;

import io.wrnstream.jobs.augment.AugmentedImage;
import io.wrnstream.jobs.config.JobConfig;
import io.wrnstream.jobs.update.FinalModelSink;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The trainer operator alone, in Flink's operator test harness: batching, snapshots, checkpoint and exact restore. */
class TrainerOperatorHarnessTest {
    private static final int BATCH = 4;
    private static final int FLOATS = 3 * 8 * 8;

    @TempDir
    Path dir;

    private JobConfig config(Map<String, String> extra) {
        Map<String, String> m = new java.util.HashMap<>(Map.of("model", "wrn-10-1", "input.shape", "3x8x8", "batch-size", String.valueOf(BATCH),
                "snapshot.steps", "2", "progress.steps", "1", "model.output", dir.resolve("final.model").toString(), "seed", "5"));
        // DL4J, the engine these tests were written on: the job's other tests train with the default, libtorch.
        m.put("engine", "dl4j");
        m.putAll(extra);
        return JobConfig.of(m);
    }

    private static List<AugmentedImage> images(int from, int n) {
        List<AugmentedImage> out = new ArrayList<>();
        for (int i = from; i < from + n; i++) {
            SplittableRandom r = new SplittableRandom(i);
            byte[] x = new byte[FLOATS];
            for (int j = 0; j < FLOATS; j++) x[j] = (byte) r.nextInt(256);
            out.add(new AugmentedImage(i, 0, i % 10, x));
        }
        return out;
    }

    private static OneInputStreamOperatorTestHarness<AugmentedImage, TrainerEvent> harness(JobConfig c) throws Exception {
        return new OneInputStreamOperatorTestHarness<>(new TrainerOperator(c));
    }

    private static List<TrainerEvent> events(OneInputStreamOperatorTestHarness<AugmentedImage, TrainerEvent> h) {
        List<TrainerEvent> out = new ArrayList<>();
        for (Object o : h.getOutput()) if (o instanceof StreamRecord<?> r && r.getValue() instanceof TrainerEvent e) out.add(e);
        return out;
    }

    private static void feed(OneInputStreamOperatorTestHarness<AugmentedImage, TrainerEvent> h, List<AugmentedImage> xs) throws Exception {
        for (AugmentedImage a : xs) h.processElement(new StreamRecord<>(a));
    }

    /** The final model leaves the trainer once, on its side output; the job's final-model sink writes it to model.output. */
    private void writeFinalModel(OneInputStreamOperatorTestHarness<AugmentedImage, TrainerEvent> h) {
        var models = h.getSideOutput(TrainerOperator.FINAL_MODEL);
        assertThat(models).hasSize(1);
        FinalModelSink.write(models.peek().getValue(), dir.resolve("final.model"));
    }

    @Test
    void trainsOneStepPerBatchAndEmitsSnapshotsEveryNSteps() throws Exception {
        try (var h = harness(config(Map.of()))) {
            h.open();
            feed(h, images(0, 4 * BATCH + 1));
            List<TrainerEvent> steps = events(h).stream().filter(e -> e.kind() == TrainerEvent.Kind.STEP).toList();
            assertThat(steps).extracting(TrainerEvent::step).containsExactly(1L, 2L, 3L, 4L);
            assertThat(steps).allSatisfy(e -> assertThat(e.loss()).isFinite());
            assertThat(h.getSideOutput(TrainerOperator.SNAPSHOTS)).extracting(r -> r.getValue().step()).containsExactly(2L, 4L);
        }
    }

    @Test
    void restoreContinuesExactlyFromTheCheckpoint() throws Exception {
        JobConfig c = config(Map.of());
        OperatorSubtaskState checkpoint;
        TrainerEvent checkpointed;
        TrainerEvent continuedWithoutFailure;
        try (var h = harness(c)) {
            h.open();
            feed(h, images(0, 2 * BATCH + 2)); // two steps and a partial batch of two
            h.prepareSnapshotPreBarrier(1L); // as the task does before the barrier
            checkpoint = h.snapshot(1L, 1L);
            
            checkpointed = events(h).stream().filter(e -> e.kind() == TrainerEvent.Kind.CHECKPOINT).findFirst().orElseThrow();
            feed(h, images(100, 2)); // completes the third batch
            h.endInput();
            continuedWithoutFailure = events(h).stream().filter(e -> e.kind() == TrainerEvent.Kind.FINISHED).findFirst().orElseThrow();
        }
        assertThat(checkpointed.checkpointId()).isEqualTo(1L);
        assertThat(checkpointed.step()).isEqualTo(2L);
        assertThat(checkpointed.imagesSeen()).isEqualTo(2L * BATCH);

        try (var restored = harness(c)) {
            restored.initializeState(checkpoint);
            restored.open();
            TrainerEvent r = events(restored).get(0);
            assertThat(r.kind()).isEqualTo(TrainerEvent.Kind.RESTORED);
            assertThat(r.checkpointId()).isEqualTo(1L);
            assertThat(r.step()).isEqualTo(checkpointed.step());
            assertThat(r.imagesSeen()).isEqualTo(checkpointed.imagesSeen());
            assertThat(r.stateDigest()).as("parameters and updater state equal the checkpointed ones").isEqualTo(checkpointed.stateDigest());
            feed(restored, images(100, 2)); // with the two restored pending images this is the same third batch
            restored.endInput();
            TrainerEvent end = events(restored).stream().filter(e -> e.kind() == TrainerEvent.Kind.FINISHED).findFirst().orElseThrow();
            assertThat(end.step()).isEqualTo(3L);
            assertThat(end.imagesSeen()).isEqualTo(3L * BATCH);
            assertThat(end.stateDigest()).as("same state as the run that never failed").isEqualTo(continuedWithoutFailure.stateDigest());
            writeFinalModel(restored);
        }
        assertThat(io.wrnstream.model.io.ModelFile.load(dir.resolve("final.model")).provenance().steps()).isEqualTo(3L);
    }

    @Test
    void overlappedStepsGiveTheSameCheckpointsAndModelAsSynchronousOnes() throws Exception {
        // trainer.overlap=true steps the engine on a thread of its own (what auto does on a GPU); on either engine the
        // checkpoint, its pending images and the final model must be the ones of the synchronous trainer, and a
        // synchronous trainer restored from the overlapped one's checkpoint must end where both end.
        for (String engine : new String[] {"dl4j", "libtorch"}) {
            long[] checkpointDigest = new long[2], finalDigest = new long[2];
            OperatorSubtaskState overlapped = null;
            for (int run = 0; run < 2; run++) {
                JobConfig c = config(Map.of("engine", engine, "trainer.overlap", run == 0 ? "false" : "true"));
                try (var h = harness(c)) {
                    h.open();
                    feed(h, images(0, 3 * BATCH + 2));
                    h.prepareSnapshotPreBarrier(1L);
                    OperatorSubtaskState s = h.snapshot(1L, 1L);
                    if (run == 1) overlapped = s;
                    TrainerEvent cp = events(h).stream().filter(e -> e.kind() == TrainerEvent.Kind.CHECKPOINT).findFirst().orElseThrow();
                    assertThat(cp.step()).as(engine + " run " + run + ": the checkpoint holds the step that was in flight").isEqualTo(3L);
                    checkpointDigest[run] = cp.stateDigest();
                    feed(h, images(100, 2 * BATCH + 2));
                    h.endInput();
                    TrainerEvent end = events(h).stream().filter(e -> e.kind() == TrainerEvent.Kind.FINISHED).findFirst().orElseThrow();
                    assertThat(end.step()).isEqualTo(6L);
                    finalDigest[run] = end.stateDigest();
                    assertThat(events(h).stream().filter(e -> e.kind() == TrainerEvent.Kind.STEP)).extracting(TrainerEvent::step)
                            .as(engine + " run " + run).containsExactly(1L, 2L, 3L, 4L, 5L, 6L);
                }
            }
            assertThat(checkpointDigest[1]).as(engine + " checkpoint, overlapped = synchronous").isEqualTo(checkpointDigest[0]);
            assertThat(finalDigest[1]).as(engine + " final model, overlapped = synchronous").isEqualTo(finalDigest[0]);
            try (var restored = harness(config(Map.of("engine", engine, "trainer.overlap", "false")))) {
                restored.initializeState(overlapped);
                restored.open();
                feed(restored, images(100, 2 * BATCH + 2));
                restored.endInput();
                TrainerEvent end = events(restored).stream().filter(e -> e.kind() == TrainerEvent.Kind.FINISHED).findFirst().orElseThrow();
                assertThat(end.stateDigest()).as(engine + ": restored from the overlapped checkpoint (two pending images)").isEqualTo(finalDigest[0]);
            }
        }
    }

    @Test
    void stopsExactlyAtMaxImagesAndIgnoresTheRest() throws Exception {
        try (var h = harness(config(Map.of("max-images", "6")))) {
            h.open();
            feed(h, images(0, 3 * BATCH));
            h.endInput();
            TrainerEvent end = events(h).stream().filter(e -> e.kind() == TrainerEvent.Kind.FINISHED).findFirst().orElseThrow();
            assertThat(end.imagesSeen()).isEqualTo(6L);
            assertThat(end.step()).isEqualTo(2L);
            assertThat(events(h).stream().filter(e -> e.kind() == TrainerEvent.Kind.FINISHED)).hasSize(1);
            writeFinalModel(h);
        }
        assertThat(dir.resolve("final.model")).exists();
    }
}
