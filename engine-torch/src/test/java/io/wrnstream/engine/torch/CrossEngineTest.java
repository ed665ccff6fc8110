package io.wrnstream.engine.torch;

import io.wrnstream.engine.dl4j.Dl4jEngine;
import io.wrnstream.model.engine.Batch;
import io.wrnstream.model.engine.EngineState;
import io.wrnstream.model.engine.Engines;
import io.wrnstream.model.engine.ParamLayout;
import io.wrnstream.model.engine.StepResult;
import io.wrnstream.model.engine.TinyData;
import io.wrnstream.model.engine.TrainConfig;
import io.wrnstream.model.engine.TrainingEngine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.wrnstream.model.eval.EvalResult;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The same weights in both engines: same probabilities and loss in inference mode, and the same parameters and
 * momentum after one SGD step, all in fp32. The state comes from a few DL4J steps, so BatchNorm's running statistics
 * and the momentum are not at their initial values.
 */
class CrossEngineTest {

    /** A DL4J snapshot after three steps (momentum and running statistics non-trivial), no dropout. */
    private static byte[] trainedDl4jSnapshot(TrainConfig c) {
        try (Dl4jEngine e = Dl4jEngine.create(c)) {
            for (int i = 0; i < 3; i++) e.trainStep(TinyData.batch(c, 16, 100 + i));
            return e.snapshot();
        }
    }

    @Test
    void sameWeightsGiveTheSameProbabilitiesAndLossInBothEngines() {
        TrainConfig c = TinyData.tiny(0);
        byte[] snapshot = trainedDl4jSnapshot(c);
        List<Batch> test = List.of(TinyData.batch(c, 16, 7), TinyData.batch(c, 5, 8));
        try (TrainingEngine dl4j = Engines.restore(snapshot);
             TrainingEngine torch = Engines.restore(snapshot, "libtorch", "fp32")) {
            assertThat(dl4j).isInstanceOf(Dl4jEngine.class);
            assertThat(torch).isInstanceOf(LibtorchEngine.class);
            float[][] pd = dl4j.predict(test.get(0));
            float[][] pt = torch.predict(test.get(0));
            for (int i = 0; i < pd.length; i++) {
                assertThat(pt[i]).as("image %d", i).containsExactly(pd[i], within(1e-4f));
            }
            EvalResult ed = dl4j.evaluate(test.iterator());
            EvalResult et = torch.evaluate(test.iterator());
            assertThat(et.loss()).isCloseTo(ed.loss(), within(1e-4));
            assertThat(et.confusion()).isDeepEqualTo(ed.confusion());
        }
    }

    @Test
    void oneSgdStepFromTheSameStateGivesTheSameParametersAndMomentum() {
        TrainConfig c = TinyData.tiny(0);
        byte[] snapshot = trainedDl4jSnapshot(c);
        Batch batch = TinyData.batch(c, 16, 9);
        ParamLayout layout = ParamLayout.of(c.wrn());
        try (Dl4jEngine dl4j = (Dl4jEngine) Engines.restore(snapshot);
             LibtorchEngine torch = (LibtorchEngine) Engines.restore(snapshot, "libtorch", "fp32")) {
            StepResult rd = dl4j.trainStep(batch);
            StepResult rt = torch.trainStep(batch);
            assertThat(rt.loss()).isCloseTo(rd.loss(), within(1e-4));
            assertThat(rt.accuracy()).isEqualTo(rd.accuracy());
            EngineState sd = dl4j.snapshotState(), st = torch.snapshotState().canonical();
            float[] before = EngineState.fromBytes(snapshot).params();
            for (ParamLayout.Entry e : layout.entries()) {
                for (int i = (int) e.offset(); i < e.offset() + e.length(); i++) {
                    float d = sd.params()[i], t = st.params()[i];
                    if (e.kind().trainable()) {
                        // ~1e-4 relative, with an absolute floor for values near zero
                        assertThat(t).as("%s[%d]", e.name(), i - e.offset()).isCloseTo(d, within(1e-4f * Math.max(1f, Math.abs(d))));
                        assertThat(t).isNotEqualTo(before[i]);
                    } else if (e.kind() == ParamLayout.Kind.BN_MEAN) {
                        assertThat(t).as("%s[%d]", e.name(), i - e.offset()).isCloseTo(d, within(1e-4f * Math.max(1f, Math.abs(d))));
                    }
                    // running variance: PyTorch averages the unbiased batch variance (n/(n-1)), DL4J the biased one
                }
            }
            for (int i = 0; i < sd.updater().length; i++) {
                float d = sd.updater()[i];
                assertThat(st.updater()[i]).as("momentum[%d]", i).isCloseTo(d, within(1e-4f * Math.max(1e-2f, Math.abs(d))));
            }
        }
    }

    @Test
    void modelTrainedByLibtorchIsServedAndContinuedByDl4j() {
        TrainConfig c = LibtorchEngineTest.tiny(0);
        byte[] snapshot;
        try (LibtorchEngine e = LibtorchEngine.create(c)) {
            for (int i = 0; i < 2; i++) e.trainStep(TinyData.batch(c, 16, 200 + i));
            snapshot = e.snapshot();
        }
        Batch batch = TinyData.batch(c, 16, 9);
        try (TrainingEngine torch = Engines.restore(snapshot);
             TrainingEngine dl4j = Engines.restore(snapshot, "dl4j", "fp32")) {
            assertThat(dl4j.config().engine()).isEqualTo("dl4j");
            assertThat(dl4j.step()).isEqualTo(2);
            float[][] pt = torch.predict(batch), pd = dl4j.predict(batch);
            for (int i = 0; i < pd.length; i++) assertThat(pd[i]).containsExactly(pt[i], within(1e-4f));
            assertThat(dl4j.trainStep(batch).loss()).isCloseTo(torch.trainStep(batch).loss(), within(1e-4));
        }
    }
}
