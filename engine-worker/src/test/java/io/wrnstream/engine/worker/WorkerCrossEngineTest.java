package io.wrnstream.engine.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.wrnstream.engine.torch.LibtorchEngine;
import io.wrnstream.model.engine.Batch;
import io.wrnstream.model.engine.EngineOptions;
import io.wrnstream.model.engine.EngineState;
import io.wrnstream.model.engine.Engines;
import io.wrnstream.model.engine.GroupStep;
import io.wrnstream.model.engine.ParamLayout;
import io.wrnstream.model.engine.ProcessGroup;
import io.wrnstream.model.engine.StepResult;
import io.wrnstream.model.engine.TinyData;
import io.wrnstream.model.engine.TrainConfig;
import io.wrnstream.model.engine.TrainingEngine;
import io.wrnstream.model.eval.EvalResult;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The same weights in the worker and the in-process libtorch engine: the same probabilities and loss in inference
 * mode, and the same parameters and momentum after one SGD step, in fp32, from a state a few libtorch steps in (so
 * BatchNorm's running statistics and the momentum are not at their initial values). Skipped without a Python with
 * PyTorch, like {@link WorkerEngineTest}.
 */
class WorkerCrossEngineTest {

    @BeforeAll
    static void needsPythonWithTorch() {
        WorkerEngineTest.needsPythonWithTorch();
    }

    private static byte[] trainedLibtorchSnapshot(TrainConfig c) {
        try (LibtorchEngine e = LibtorchEngine.create(c)) {
            for (int i = 0; i < 3; i++) e.trainStep(TinyData.batch(c, 16, 100 + i));
            return e.snapshot();
        }
    }

    @Test
    void sameWeightsGiveTheSameProbabilitiesAndLossAsLibtorch() {
        TrainConfig c = TinyData.tiny(0).withEngine("libtorch", "fp32");
        byte[] snapshot = trainedLibtorchSnapshot(c);
        List<Batch> test = List.of(TinyData.batch(c, 16, 7), TinyData.batch(c, 5, 8));
        try (TrainingEngine torch = Engines.restore(snapshot);
             TrainingEngine worker = Engines.restore(snapshot, "worker", "fp32")) {
            assertThat(worker).isInstanceOf(WorkerEngine.class);
            float[][] pt = torch.predict(test.get(0));
            float[][] pw = worker.predict(test.get(0));
            for (int i = 0; i < pt.length; i++) {
                assertThat(pw[i]).as("image %d", i).containsExactly(pt[i], within(1e-4f));
            }
            EvalResult et = torch.evaluate(test.iterator());
            EvalResult ew = worker.evaluate(test.iterator());
            assertThat(ew.loss()).isCloseTo(et.loss(), within(1e-4));
            assertThat(ew.confusion()).isDeepEqualTo(et.confusion());
        }
    }

    @Test
    void oneSgdStepFromTheSameStateGivesTheSameParametersAndMomentum() {
        TrainConfig c = TinyData.tiny(0).withEngine("libtorch", "fp32");
        byte[] snapshot = trainedLibtorchSnapshot(c);
        Batch batch = TinyData.batch(c, 16, 9);
        ParamLayout layout = ParamLayout.of(c.wrn());
        try (LibtorchEngine torch = (LibtorchEngine) Engines.restore(snapshot, "libtorch", "fp32");
             WorkerEngine worker = (WorkerEngine) Engines.restore(snapshot, "worker", "fp32")) {
            StepResult rt = torch.trainStep(batch);
            StepResult rw = worker.trainStep(batch);
            assertThat(rw.loss()).isCloseTo(rt.loss(), within(1e-4));
            assertThat(rw.accuracy()).isEqualTo(rt.accuracy());
            assertThat(rw.learningRate()).isEqualTo(rt.learningRate());
            EngineState st = torch.snapshotState(), sw = worker.snapshotState();
            float[] before = EngineState.fromBytes(snapshot).params();
            for (ParamLayout.Entry e : layout.entries()) {
                for (int i = (int) e.offset(); i < e.offset() + e.length(); i++) {
                    float t = st.params()[i], w = sw.params()[i];
                    // both are PyTorch: running statistics agree too (same unbiased variance)
                    assertThat(w).as("%s[%d]", e.name(), i - e.offset()).isCloseTo(t, within(1e-4f * Math.max(1f, Math.abs(t))));
                    if (e.kind().trainable()) assertThat(w).isNotEqualTo(before[i]);
                }
            }
            for (int i = 0; i < st.updater().length; i++) {
                float t = st.updater()[i];
                assertThat(sw.updater()[i]).as("momentum[%d]", i).isCloseTo(t, within(1e-4f * Math.max(1e-2f, Math.abs(t))));
            }
        }
    }

    @Test
    void aDataParallelStepOfTwoSharesGivesLibtorchsParametersStatisticsAndMomentum() {
        TrainConfig c = TinyData.tiny(0).withEngine("libtorch", "fp32");
        byte[] snapshot = trainedLibtorchSnapshot(c);
        List<Batch> shares = List.of(TinyData.batch(c, 5, 11), TinyData.batch(c, 3, 12));
        try (LibtorchEngine torch = (LibtorchEngine) Engines.restore(snapshot, "libtorch", "fp32");
             WorkerEngine worker = (WorkerEngine) Engines.restore(snapshot, "worker", "fp32")) {
            GroupStep gt = torch.trainStep(shares, new long[] {3}, ProcessGroup.SOLO);
            GroupStep gw = worker.trainStep(shares, new long[] {3}, ProcessGroup.SOLO);
            assertThat(gw.result().loss()).isCloseTo(gt.result().loss(), within(1e-4));
            assertThat(gw.result().accuracy()).isEqualTo(gt.result().accuracy());
            assertThat(gw.images()).containsExactly(8);
            assertThat(gw.signals()).isDeepEqualTo(gt.signals());
            EngineState st = torch.snapshotState(), sw = worker.snapshotState();
            float[] before = EngineState.fromBytes(snapshot).params();
            int moved = 0;
            for (ParamLayout.Entry e : ParamLayout.of(c.wrn()).entries()) {
                for (int i = (int) e.offset(); i < e.offset() + e.length(); i++) {
                    float t = st.params()[i], w = sw.params()[i];
                    // the BatchNorm rule too: the image-weighted mean of each share's statistics
                    assertThat(w).as("%s[%d]", e.name(), i - e.offset()).isCloseTo(t, within(1e-4f * Math.max(1f, Math.abs(t))));
                    if (w != before[i]) moved++;
                }
            }
            assertThat(moved).as("values the step moved").isGreaterThan(before.length * 9 / 10);
            for (int i = 0; i < st.updater().length; i++) {
                float t = st.updater()[i];
                assertThat(sw.updater()[i]).as("momentum[%d]", i).isCloseTo(t, within(1e-4f * Math.max(1e-2f, Math.abs(t))));
            }
        }
    }

    @Test
    void modelTrainedByTheWorkerIsServedAndContinuedByLibtorchAndDl4j() {
        TrainConfig c = WorkerEngineTest.tiny(0);
        byte[] snapshot;
        try (WorkerEngine e = WorkerEngine.create(c)) {
            for (int i = 0; i < 2; i++) e.trainStep(TinyData.batch(c, 16, 200 + i));
            snapshot = e.snapshot();
        }
        Batch batch = TinyData.batch(c, 16, 9);
        try (TrainingEngine worker = Engines.restore(snapshot);
             TrainingEngine torch = Engines.restore(snapshot, "libtorch", "fp32");
             TrainingEngine dl4j = Engines.restore(snapshot, "dl4j", "fp32")) {
            assertThat(torch.step()).isEqualTo(2);
            float[][] pw = worker.predict(batch), pt = torch.predict(batch), pd = dl4j.predict(batch);
            for (int i = 0; i < pw.length; i++) {
                assertThat(pt[i]).containsExactly(pw[i], within(1e-4f));
                assertThat(pd[i]).containsExactly(pw[i], within(1e-4f));
            }
            assertThat(torch.trainStep(batch).loss()).isCloseTo(worker.trainStep(batch).loss(), within(1e-4));
        }
    }
}
