package io.wrnstream.jobs.update;

import io.wrnstream.kafka.update.ModelFiles;
import io.wrnstream.kafka.update.ModelUpdate;

import static org.assertj.core.api.Assertions.assertThat;

import io.wrnstream.jobs.augment.AugmentedImage;
import io.wrnstream.jobs.config.JobConfig;
import io.wrnstream.jobs.eval.Evaluation;
import io.wrnstream.jobs.train.TrainerEvent;
import io.wrnstream.jobs.train.TrainerOperator;
import io.wrnstream.model.io.ModelFile;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.apache.flink.streaming.util.TwoInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The trainer's model candidates and the publisher, each in Flink's operator test harness. */
class ModelCandidatesHarnessTest {
    private static final int BATCH = 4;

    @TempDir
    Path dir;

    private JobConfig config(Map<String, String> extra) {
        Map<String, String> m = new HashMap<>(Map.of("model", "wrn-10-1", "input.shape", "3x8x8", "batch-size", String.valueOf(BATCH),
                "snapshot.steps", "100", "model.output", dir.resolve("final.model").toString(), "seed", "5",
                "model.store", dir.resolve("store").toUri().toString()));
        m.putAll(extra);
        return JobConfig.of(m);
    }

    private static void feed(OneInputStreamOperatorTestHarness<AugmentedImage, TrainerEvent> h, int from, int n) throws Exception {
        for (int i = from; i < from + n; i++) {
            SplittableRandom r = new SplittableRandom(i);
            byte[] x = new byte[3 * 8 * 8];
            for (int j = 0; j < x.length; j++) x[j] = (byte) r.nextInt(256);
            h.processElement(new StreamRecord<>(new AugmentedImage(i, 0, i % 10, x)));
        }
    }

    private static List<ModelCandidate> candidates(OneInputStreamOperatorTestHarness<AugmentedImage, TrainerEvent> h) {
        List<ModelCandidate> out = new ArrayList<>();
        var q = h.getSideOutput(TrainerOperator.MODEL_CANDIDATES);
        if (q != null) q.forEach(r -> out.add(r.getValue()));
        return out;
    }

    @Test
    void trainerOffersTheModelBeforeEachBarrierOnlyWhenTrainingAdvanced() throws Exception {
        try (var h = new OneInputStreamOperatorTestHarness<>(new TrainerOperator(config(Map.of())))) {
            h.open();
            h.prepareSnapshotPreBarrier(1L);
            assertThat(candidates(h)).as("an untrained model is not offered").isEmpty();
            feed(h, 0, 2 * BATCH);
            h.prepareSnapshotPreBarrier(2L);
            h.prepareSnapshotPreBarrier(3L);
            assertThat(candidates(h)).extracting(ModelCandidate::checkpointId, ModelCandidate::step).containsExactly(org.assertj.core.groups.Tuple.tuple(2L, 2L));
            feed(h, 100, BATCH + 1);
            h.endInput();
            assertThat(candidates(h)).extracting(ModelCandidate::checkpointId).containsExactly(2L, -1L);
            assertThat(candidates(h).get(1).step()).as("final model: the partial batch trained too").isEqualTo(4L);
        }
    }

    @Test
    void trainerHonoursPublishEveryAndPublishOff() throws Exception {
        try (var h = new OneInputStreamOperatorTestHarness<>(new TrainerOperator(config(Map.of("model.publish-every-checkpoints", "2"))))) {
            h.open();
            feed(h, 0, BATCH);
            h.prepareSnapshotPreBarrier(1L);
            feed(h, 10, BATCH);
            h.prepareSnapshotPreBarrier(2L);
            assertThat(candidates(h)).extracting(ModelCandidate::checkpointId).containsExactly(2L);
        }
        try (var h = new OneInputStreamOperatorTestHarness<>(new TrainerOperator(config(Map.of("model.publish", "false"))))) {
            h.open();
            feed(h, 0, BATCH);
            h.prepareSnapshotPreBarrier(1L);
            h.endInput();
            assertThat(candidates(h)).isEmpty();
        }
    }

    @Test
    void publisherWritesFilesNumbersVersionsAddsTheLatestTestErrorAndRestoresItsCounter() throws Exception {
        JobConfig c = config(Map.of("model.id", "tiny"));
        byte[] engine;
        try (var t = new OneInputStreamOperatorTestHarness<>(new TrainerOperator(c))) {
            t.open();
            feed(t, 0, BATCH);
            t.prepareSnapshotPreBarrier(1L);
            engine = candidates(t).get(0).engine();
        }
        OperatorSubtaskState state;
        try (var h = new TwoInputStreamOperatorTestHarness<>(new ModelPublisherOperator(c))) {
            h.open();
            h.processElement1(new StreamRecord<>(new ModelCandidate(1, 1, 4, 0.1, 1, engine)));
            h.processElement2(new StreamRecord<>(new Evaluation(1, 1, 4, 0.1, 0.75, 2.1, 64, 1, 10)));
            h.processElement1(new StreamRecord<>(new ModelCandidate(2, 1, 4, 0.1, 2, engine))); // same step: not published again
            h.processElement1(new StreamRecord<>(new ModelCandidate(3, 5, 20, 0.5, 3, engine)));
            state = h.snapshot(3, 3);
            List<ModelUpdate> out = new ArrayList<>();
            h.getOutput().forEach(o -> out.add(((StreamRecord<ModelUpdate>) o).getValue()));
            assertThat(out).extracting(ModelUpdate::version, ModelUpdate::step, ModelUpdate::testError)
                    .containsExactly(org.assertj.core.groups.Tuple.tuple(1L, 1L, null), org.assertj.core.groups.Tuple.tuple(2L, 5L, 0.75));
            for (ModelUpdate u : out) {
                assertThat(u.modelId()).isEqualTo("tiny");
                byte[] file = ModelFiles.read(u.location(), u.size(), u.sha256());
                assertThat(ModelFile.read(file, u.location()).snapshot()).isEqualTo(engine);
            }
        }
        try (var h = new TwoInputStreamOperatorTestHarness<>(new ModelPublisherOperator(c))) {
            h.initializeState(state);
            h.open();
            h.processElement1(new StreamRecord<>(new ModelCandidate(4, 5, 20, 0.5, 4, engine))); // replayed after restore: already published
            h.processElement1(new StreamRecord<>(new ModelCandidate(5, 6, 24, 0.6, 5, engine)));
            assertThat(h.getOutput()).hasSize(1);
            @SuppressWarnings("unchecked")
            ModelUpdate u = ((StreamRecord<ModelUpdate>) h.getOutput().peek()).getValue();
            assertThat(u.version()).isEqualTo(3);
            assertThat(u.testError()).as("latest test error restored").isEqualTo(0.75);
            assertThat(u.testErrorStep()).isEqualTo(1L);
        }
    }

    @Test
    void freshPublisherContinuesAboveTheNewestVersionInTheStoreAndOnTheTopic() throws Exception {
        JobConfig c = config(Map.of("model.id", "again"));
        ModelStore store = new ModelStore(c.get(JobConfig.MODEL_STORE));
        store.write("again", 7, 3, 30, new byte[10]);      // an earlier job's files, one of them orphaned
        byte[] engine;
        try (var t = new OneInputStreamOperatorTestHarness<>(new TrainerOperator(c))) {
            t.open();
            feed(t, 0, BATCH);
            t.prepareSnapshotPreBarrier(1L);
            engine = candidates(t).get(0).engine();
        }
        for (long floor : new long[] {0, 12}) {
            try (var h = new TwoInputStreamOperatorTestHarness<>(new ModelPublisherOperator(c, floor))) {
                h.open();
                h.processElement1(new StreamRecord<>(new ModelCandidate(1, 1, 4, 0.1, 1, engine)));
                @SuppressWarnings("unchecked")
                ModelUpdate u = ((StreamRecord<ModelUpdate>) h.getOutput().peek()).getValue();
                assertThat(u.version()).as("floor " + floor).isEqualTo(floor == 0 ? 8 : 13);
            }
        }
    }
}
