package io.wrnstream.engine.dl4j;

import io.wrnstream.model.engine.Batch;
import io.wrnstream.model.engine.Engines;
import io.wrnstream.model.engine.StepResult;
import io.wrnstream.model.engine.TinyData;
import io.wrnstream.model.engine.TrainConfig;
import io.wrnstream.model.engine.TrainingEngine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.wrnstream.model.eval.EvalResult;
import io.wrnstream.model.optim.OptimConfig;
import io.wrnstream.model.optim.Schedule;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;

class Dl4jEngineTest {

    @Test
    void oneStepChangesParametersAndCountsStepsAndImages() {
        TrainConfig c = TinyData.tiny(0);
        try (Dl4jEngine e = Dl4jEngine.create(c)) {
            float[] before = e.network().params().toFloatVector();
            StepResult r = e.trainStep(TinyData.batch(c, 8, 1));
            float[] after = e.network().params().toFloatVector();

            assertThat(after).isNotEqualTo(before);
            assertThat(r.step()).isEqualTo(1);
            assertThat(r.imagesSeen()).isEqualTo(8);
            assertThat(e.step()).isEqualTo(1);
            assertThat(e.imagesSeen()).isEqualTo(8);
            assertThat(r.nonFinite()).isFalse();
            assertThat(r.learningRate()).isEqualTo(0.1);
            // 4 classes at initialisation: the loss is near ln 4, not the regularised score.
            assertThat(r.loss()).isBetween(0.5, 5.0);
            assertThat(r.accuracy()).isBetween(0.0, 1.0);
            assertThat(e.parameterCount()).isPositive().isLessThan(after.length);
        }
    }

    @Test
    void reportedLossIsTheCrossEntropyOfTheBatchBeforeTheUpdate() {
        TrainConfig c = TinyData.tiny(0);
        Batch b = TinyData.batch(c, 8, 3);
        try (Dl4jEngine e = Dl4jEngine.create(c)) {
            // DL4J's own score of the same batch in training mode, minus its L2 term, must match.
            e.network().setInputs(org.nd4j.linalg.factory.Nd4j.create(b.x(), new long[] {8, 3, 8, 8}, 'c'));
            float[] y = new float[8 * 4];
            for (int i = 0; i < 8; i++) y[i * 4 + b.labels()[i]] = 1;
            e.network().setLabels(org.nd4j.linalg.factory.Nd4j.create(y, new long[] {8, 4}, 'c'));
            e.network().computeGradientAndScore();
            double expected = e.network().score() - e.network().calcRegularizationScore(true);
            e.network().clearLayersStates();

            assertThat(e.trainStep(b).loss()).isCloseTo(expected, within(1e-4));
        }
    }

    @Test
    void restoredEngineContinuesExactlyLikeOneThatNeverStopped() {
        TrainConfig c = TinyData.tiny(0.3);  // dropout on: masks must repeat after restore too
        try (Dl4jEngine a = Dl4jEngine.create(c)) {
            a.trainStep(TinyData.batch(c, 8, 1));
            a.trainStep(TinyData.batch(c, 8, 2));  // momentum is non-zero from here on
            byte[] snapshot = a.snapshot();
            StepResult ra = a.trainStep(TinyData.batch(c, 8, 3));
            try (TrainingEngine b = Engines.restore(snapshot)) {
                assertThat(b.step()).isEqualTo(2);
                assertThat(b.imagesSeen()).isEqualTo(16);
                assertThat(b.config()).isEqualTo(c);
                StepResult rb = b.trainStep(TinyData.batch(c, 8, 3));
                assertThat(rb).isEqualTo(ra);
                assertThat(((Dl4jEngine) b).network().params().toFloatVector()).containsExactly(a.network().params().toFloatVector());
                assertThat(((Dl4jEngine) b).snapshotState().updater()).containsExactly(a.snapshotState().updater());
            }
        }
    }

    @Test
    void snapshotOfUnknownFormatVersionFailsNamingTheVersion() {
        TrainConfig c = TinyData.tiny(0);
        byte[] bytes;
        try (Dl4jEngine e = Dl4jEngine.create(c)) {
            bytes = e.snapshot();
        }
        ByteBuffer.wrap(bytes).putInt(4, 99);
        assertThatThrownBy(() -> Engines.restore(bytes))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Unsupported engine snapshot format version 99: this build reads versions 1 and 2");
    }

    @Test
    void bytesThatAreNotASnapshotAreRejected() {
        assertThatThrownBy(() -> Engines.restore(new byte[] {1, 2, 3, 4, 5, 6, 7, 8}))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Not a wrn-stream engine snapshot: magic 0x01020304, expected 0x57524E53");
    }

    @Test
    void learningRateFollowsTheScheduleInImagesSeen() {
        // an "epoch" of 8 images: milestones at epochs 1 and 2 hit after the first and second batch
        OptimConfig step = new OptimConfig(0.1, 0.9, true, 5e-4, true, Schedule.STEP, new double[] {1, 2}, 0.2, 3, 8);
        TrainConfig c = TinyData.tiny(0).withOptim(step);
        try (Dl4jEngine e = Dl4jEngine.create(c)) {
            double[] used = new double[3];
            for (int i = 0; i < 3; i++) {
                used[i] = e.trainStep(TinyData.batch(c, 8, i)).learningRate();
                assertThat(e.effectiveLearningRate()).isEqualTo(used[i]);
            }
            assertThat(used).containsExactly(new double[] {0.1, 0.02, 0.004}, within(1e-12));
        }
    }

    @Test
    void batchNormGammaIsDecayedOnlyWhenAsked() {
        double wd = 0.01;  // large enough to see clearly in fp32
        OptimConfig on = new OptimConfig(0.1, 0.9, true, wd, true, Schedule.CONSTANT, null, 0.2, 1, 50_000);
        OptimConfig off = new OptimConfig(0.1, 0.9, true, wd, false, Schedule.CONSTANT, null, 0.2, 1, 50_000);
        float[][] gammaAfter = new float[2][];
        float[][] convAfter = new float[2][];
        List<OptimConfig> configs = List.of(on, off);
        for (int i = 0; i < 2; i++) {
            TrainConfig c = TinyData.tiny(0).withOptim(configs.get(i));
            try (Dl4jEngine e = Dl4jEngine.create(c)) {
                e.trainStep(TinyData.batch(c, 8, 1));
                gammaAfter[i] = e.network().getLayer("g1.b0.bn1").getParam("gamma").toFloatVector();
                convAfter[i] = e.network().getLayer("g1.b0.conv1").getParam("W").ravel().toFloatVector();
            }
        }
        // First Nesterov step: delta = -(1 + mu) * lr * (g + wd * gamma), gamma = 1 at initialisation.
        double expectedGap = (1 + 0.9) * 0.1 * wd;
        for (int j = 0; j < gammaAfter[0].length; j++) {
            assertThat((double) gammaAfter[1][j] - gammaAfter[0][j]).isCloseTo(expectedGap, within(1e-5));
        }
        assertThat(convAfter[0]).containsExactly(convAfter[1]);
    }

    @Test
    void nonFiniteBatchSkipsTheUpdateButCountsTheStep() {
        TrainConfig c = TinyData.tiny(0);
        Batch good = TinyData.batch(c, 8, 1);
        float[] x = good.x().clone();
        x[5] = Float.NaN;
        try (Dl4jEngine e = Dl4jEngine.create(c)) {
            float[] before = e.network().params().toFloatVector();
            StepResult r = e.trainStep(new Batch(x, good.labels(), 3, 8, 8));
            assertThat(r.nonFinite()).isTrue();
            assertThat(r.step()).isEqualTo(1);
            assertThat(e.network().params().toFloatVector()).containsExactly(before);
            assertThat(e.trainStep(good).nonFinite()).isFalse();
        }
    }

    @Test
    void evaluationCountsEveryImageOnceInTheConfusionMatrix() {
        TrainConfig c = TinyData.tiny(0.3);
        try (Dl4jEngine e = Dl4jEngine.create(c)) {
            e.trainStep(TinyData.batch(c, 8, 1));
            List<Batch> test = List.of(TinyData.batch(c, 8, 10), TinyData.batch(c, 5, 11));
            EvalResult r = e.evaluate(test.iterator());
            EvalResult again = e.evaluate(test.iterator());

            assertThat(r.images()).isEqualTo(13);
            assertThat(Arrays.stream(r.confusion()).flatMapToLong(Arrays::stream).sum()).isEqualTo(13);
            long correct = 0;
            for (int k = 0; k < 4; k++) correct += r.confusion()[k][k];
            assertThat(r.error()).isCloseTo(1 - correct / 13.0, within(1e-12));
            assertThat(r.loss()).isPositive().isFinite();
            // inference mode: no dropout, running statistics, so evaluating twice gives the same answer
            assertThat(again.loss()).isEqualTo(r.loss());
            float[][] p = e.predict(test.get(1));
            assertThat(p).hasDimensions(5, 4);
            for (float[] row : p) {
                double s = 0;
                for (float v : row) s += v;
                assertThat(s).isCloseTo(1.0, within(1e-5));
            }
        }
    }

    @Test
    void batchOfTheWrongShapeIsRejected() {
        TrainConfig c = TinyData.tiny(0);
        try (Dl4jEngine e = Dl4jEngine.create(c)) {
            assertThatThrownBy(() -> e.trainStep(new Batch(new float[3 * 9 * 9], new int[] {0}, 3, 9, 9)))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("Batch of 3x9x9 images does not fit wrn-10-1 built for 3x8x8");
            assertThatThrownBy(() -> e.trainStep(new Batch(new float[3 * 8 * 8], new int[] {4}, 3, 8, 8)))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("Invalid label 4: must be in [0, 4)");
        }
    }

    @Test
    void noMomentumWithoutNesterovIsRejectedOnlyWhenMomentumIsUsed() {
        OptimConfig heavyBall = new OptimConfig(0.1, 0.9, false, 5e-4, true, Schedule.CONSTANT, null, 0.2, 1, 10);
        assertThatThrownBy(() -> Dl4jEngine.create(TinyData.tiny(0).withOptim(heavyBall)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Invalid value false for optim.nesterov with optim.momentum=0.9: the dl4j engine supports "
                        + "Nesterov momentum only (nesterov=true) or no momentum (momentum=0)");
        OptimConfig plain = new OptimConfig(0.1, 0.0, false, 5e-4, true, Schedule.CONSTANT, null, 0.2, 1, 10);
        try (Dl4jEngine e = Dl4jEngine.create(TinyData.tiny(0).withOptim(plain))) {
            assertThat(e.trainStep(TinyData.batch(e.config(), 8, 1)).nonFinite()).isFalse();
            assertThat(e.snapshotState().updater()).isEmpty();
        }
    }
}
