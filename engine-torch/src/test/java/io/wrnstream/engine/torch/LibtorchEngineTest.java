package io.wrnstream.engine.torch;

import io.wrnstream.model.engine.Batch;
import io.wrnstream.model.engine.Engines;
import io.wrnstream.model.engine.GroupStep;
import io.wrnstream.model.engine.ParamLayout;
import io.wrnstream.model.engine.ProcessGroup;
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
import io.wrnstream.model.wrn.WrnConfig;
import java.util.List;
import org.junit.jupiter.api.Test;

class LibtorchEngineTest {

    static TrainConfig tiny(double dropout) {
        return TinyData.tiny(dropout).withEngine("libtorch", "fp32");
    }

    @Test
    void parameterCountsEqualTheReferenceForThePapersModels() {
        for (int[] dk : new int[][] {{40, 1}, {16, 4}, {28, 10}}) {
            WrnConfig w = WrnConfig.cifar10(dk[0], dk[1]);
            try (TrainingEngine e = Engines.create(TrainConfig.paper(w).withEngine("libtorch", "fp32"))) {
                assertThat(e).isInstanceOf(LibtorchEngine.class);
                assertThat(e.parameterCount()).as(w.name()).isEqualTo(w.trainableParameters());
            }
        }
    }

    @Test
    void channelsLastWeightsTrainLikeRowMajorOnes() {
        // The weights are channels-last views into the flat buffers; the gradients autograd accumulates into them
        // must be the same as with row-major views (decay alone would also change the parameters).
        TrainConfig c = tiny(0);
        Trained[] runs = threeStepsWithPropertyOffAndOn(c, LibtorchEngine.CHANNELS_LAST_PROPERTY, 20);
        assertThat(runs[1].params()).containsExactly(runs[0].params(), within(1e-5f));
        assertThat(runs[1].momentum()).containsExactly(runs[0].momentum(), within(1e-5f));
        assertThat(largestMagnitude(runs[0].momentum())).as("largest momentum value after 3 steps").isGreaterThan(1e-3f);
    }

    @Test
    void fusedSgdUpdatesExactlyLikeTheFiveOps() {
        // libtorch's fused kernel against add_/mul_ over the flat buffers, with BatchNorm decayed (one group) and not
        // decayed (two groups, the second without weight decay).
        for (boolean decayBn : new boolean[] {true, false}) {
            OptimConfig o = new OptimConfig(0.1, 0.9, true, 5e-4, decayBn, Schedule.CONSTANT, null, 0.2, 1, 10);
            Trained[] runs = threeStepsWithPropertyOffAndOn(tiny(0).withOptim(o), LibtorchEngine.FUSED_SGD_PROPERTY, 40);
            // A handful of values differ in the last bits after a step (the kernel's non-vector tail, as far as we can
            // tell), and the next steps spread that by as little.
            // A missing term would not: weight decay alone moves a weight by lr*wd*|p|, about 2.5e-6 a step here.
            assertThat(largestDifference(runs[0].params(), runs[1].params())).as("params, decayBatchNorm=" + decayBn)
                    .isLessThan(1e-7);
            assertThat(largestDifference(runs[0].momentum(), runs[1].momentum())).as("momentum, decayBatchNorm=" + decayBn)
                    .isLessThan(1e-7);
            assertThat(largestMagnitude(runs[0].momentum())).as("largest momentum value after 3 steps").isGreaterThan(1e-3f);
        }
    }

    /** Parameters and momentum of an engine after some steps. */
    private record Trained(float[] params, float[] momentum) {}

    /**
     * Two engines of {@code c}, trained for three batches (seeds {@code seed}, +1, +2) with the system property
     * {@code property} false, then true: index 0 is the run with it off.
     */
    private static Trained[] threeStepsWithPropertyOffAndOn(TrainConfig c, String property, long seed) {
        Trained[] runs = new Trained[2];
        for (int run = 0; run < 2; run++) {
            System.setProperty(property, Boolean.toString(run == 1));
            try (LibtorchEngine e = LibtorchEngine.create(c)) {
                for (int i = 0; i < 3; i++) e.trainStep(TinyData.batch(c, 8, seed + i));
                runs[run] = new Trained(e.snapshotState().params(), e.snapshotState().updater());
            } finally {
                System.clearProperty(property);
            }
        }
        return runs;
    }

    private static float largestMagnitude(float[] values) {
        float largest = 0;
        for (float v : values) largest = Math.max(largest, Math.abs(v));
        return largest;
    }

    /** The largest |a[i] - b[i]| (a loop: AssertJ's element-wise failure report is quadratic in the length). */
    private static double largestDifference(float[] a, float[] b) {
        assertThat(b).hasSameSizeAs(a);
        double largest = 0;
        for (int i = 0; i < a.length; i++) largest = Math.max(largest, Math.abs((double) a[i] - b[i]));
        return largest;
    }

    @Test
    void snapshotWrittenStraightFromTheTensorsEqualsTheEncodedCopy() {
        // snapshot() writes the native tensors into the bytes a chunk at a time; it must be byte for byte what encoding
        // the exported copy gives, for row-major and channels-last weights, and a fresh engine must start from exactly
        // ParamLayout.initialParams (filled one entry at a time; running variance 1, which is log10(std) 0).
        for (String precision : new String[] {"fp32", "bf16"}) {
            TrainConfig c = TinyData.tiny(0).withEngine("libtorch", precision);
            try (LibtorchEngine e = LibtorchEngine.create(c)) {
                float[] initial = ParamLayout.of(c.wrn()).initialParams(c.seed());
                assertThat(e.snapshotState().canonical().params()).as(precision + " fresh parameters").containsExactly(initial);
                assertThat(e.snapshotState().updater()).as("fresh momentum").containsOnly(0f);
                for (int i = 0; i < 2; i++) e.trainStep(TinyData.batch(c, 8, 30 + i));
                assertThat(e.snapshot()).as(precision).isEqualTo(e.snapshotState().toBytes());
            }
        }
    }

    @Test
    void bytesNormalisedOnTheDeviceTrainExactlyLikeBytesNormalisedInJava() {
        // On a GPU the engine copies uint8 pixels and normalises them there (a table lookup); forced on here, on the
        // CPU, that path must train bit for bit like the Java normalisation (PixelBatch.toBatch()), in both precisions.
        for (String precision : new String[] {"fp32", "bf16"}) {
            TrainConfig c = TinyData.tiny(0).withEngine("libtorch", precision);
            byte[][] snapshots = new byte[2][];
            for (int run = 0; run < 2; run++) {
                System.setProperty(LibtorchEngine.NORMALIZE_ON_DEVICE_PROPERTY, Boolean.toString(run == 1));
                try (LibtorchEngine e = LibtorchEngine.create(c)) {
                    for (int i = 0; i < 3; i++) e.trainStep(TinyData.pixelBatch(c, 8, 40 + i));
                    e.trainStep(TinyData.pixelBatch(c, 5, 50)); // another batch size: the buffers follow
                    snapshots[run] = e.snapshot();
                } finally {
                    System.clearProperty(LibtorchEngine.NORMALIZE_ON_DEVICE_PROPERTY);
                }
            }
            assertThat(snapshots[1]).as(precision).isEqualTo(snapshots[0]);
        }
    }

    @Test
    void oneStepChangesParametersAndCountsStepsAndImages() {
        TrainConfig c = tiny(0);
        try (LibtorchEngine e = LibtorchEngine.create(c)) {
            float[] before = e.snapshotState().params();
            StepResult r = e.trainStep(TinyData.batch(c, 8, 1));
            float[] after = e.snapshotState().params();

            assertThat(after).isNotEqualTo(before);
            assertThat(r.step()).isEqualTo(1);
            assertThat(r.imagesSeen()).isEqualTo(8);
            assertThat(e.step()).isEqualTo(1);
            assertThat(e.imagesSeen()).isEqualTo(8);
            assertThat(r.nonFinite()).isFalse();
            assertThat(r.learningRate()).isEqualTo(0.1);
            assertThat(r.loss()).isBetween(0.5, 5.0);
            assertThat(r.accuracy()).isBetween(0.0, 1.0);
            assertThat(e.snapshotState().updater()).hasSize((int) e.parameterCount()).isNotEqualTo(new float[(int) e.parameterCount()]);
        }
    }

    @Test
    void restoredEngineContinuesLikeOneThatNeverStopped() {
        TrainConfig c = tiny(0.3);  // dropout on: masks must repeat after restore too
        try (LibtorchEngine a = LibtorchEngine.create(c)) {
            a.trainStep(TinyData.batch(c, 8, 1));
            a.trainStep(TinyData.batch(c, 8, 2));
            byte[] snapshot = a.snapshot();
            StepResult ra = a.trainStep(TinyData.batch(c, 8, 3));
            try (TrainingEngine b = Engines.restore(snapshot)) {
                assertThat(b).isInstanceOf(LibtorchEngine.class);
                assertThat(b.step()).isEqualTo(2);
                assertThat(b.imagesSeen()).isEqualTo(16);
                assertThat(b.config()).isEqualTo(c);
                StepResult rb = b.trainStep(TinyData.batch(c, 8, 3));
                assertThat(rb.loss()).isCloseTo(ra.loss(), within(1e-6));
                assertThat(rb.accuracy()).isEqualTo(ra.accuracy());
                // the momentum goes through DL4J's lr-carrying form and back: equal up to float rounding
                assertThat(((LibtorchEngine) b).snapshotState().params())
                        .containsExactly(a.snapshotState().params(), within(1e-6f));
            }
        }
    }

    @Test
    void bf16StepRunsWithFiniteLossAndFp32MasterWeights() {
        TrainConfig c = TinyData.tiny(0).withEngine("libtorch", "bf16");
        try (LibtorchEngine e = LibtorchEngine.create(c)) {
            float[] before = e.snapshotState().params();
            StepResult r = e.trainStep(TinyData.batch(c, 8, 1));
            assertThat(r.nonFinite()).isFalse();
            assertThat(r.loss()).isFinite().isBetween(0.5, 5.0);
            float[] after = e.snapshotState().params();
            assertThat(after).isNotEqualTo(before);
            // fp32 master weights: updates far below bf16's resolution (8 bits of mantissa) still land
            int changedBelowBf16Resolution = 0;
            for (int i = 0; i < after.length; i++) {
                float d = Math.abs(after[i] - before[i]);
                if (d > 0 && d < Math.abs(before[i]) / 512) changedBelowBf16Resolution++;
            }
            assertThat(changedBelowBf16Resolution).isPositive();
            EvalResult eval = e.evaluate(List.of(TinyData.batch(c, 8, 5)).iterator());
            assertThat(eval.loss()).isFinite();
        }
    }

    @Test
    void nonFiniteBatchSkipsTheUpdateButCountsTheStep() {
        TrainConfig c = tiny(0);
        Batch good = TinyData.batch(c, 8, 1);
        float[] x = good.x().clone();
        x[5] = Float.NaN;
        try (LibtorchEngine e = LibtorchEngine.create(c)) {
            float[] before = e.snapshotState().params();
            StepResult r = e.trainStep(new Batch(x, good.labels(), 3, 8, 8));
            assertThat(r.nonFinite()).isTrue();
            assertThat(r.step()).isEqualTo(1);
            float[] after = e.snapshotState().params();
            ParamLayout layout = ParamLayout.of(c.wrn());
            for (ParamLayout.Entry en : layout.entries()) {
                // BatchNorm running statistics too: the forward pass updated them, the skipped step restores them (issue 11).
                for (long i = en.offset(); i < en.offset() + en.length(); i++) {
                    assertThat(after[(int) i]).as(en.name() + "[" + (i - en.offset()) + "]").isEqualTo(before[(int) i]);
                }
            }
            for (float[] row : e.predict(good)) {
                for (float v : row) assertThat(v).as("prediction after the skipped step").isFinite();
            }
            assertThat(e.trainStep(good).nonFinite()).isFalse();
        }
    }

    @Test
    void gradientsLandInTheFlatBufferTheUpdateReads() {
        // No decay and no momentum: only the gradients autograd accumulated into the preset views can move a parameter.
        // (That each step starts from zeroed gradients, the restore tests show: a restored engine starts from zeros.)
        OptimConfig bare = new OptimConfig(0.1, 0.0, false, 0.0, true, Schedule.CONSTANT, null, 0.2, 1, 10);
        TrainConfig c = tiny(0).withOptim(bare);
        try (LibtorchEngine e = LibtorchEngine.create(c)) {
            float[] before = e.snapshotState().params();
            e.trainStep(TinyData.batch(c, 8, 1));
            float[] after = e.snapshotState().params();
            for (ParamLayout.Entry en : ParamLayout.of(c.wrn()).entries()) {
                if (!en.kind().trainable()) continue;
                int changed = 0;
                for (long i = en.offset(); i < en.offset() + en.length(); i++) if (after[(int) i] != before[(int) i]) changed++;
                assertThat(changed).as(en.name() + ": values moved by its gradient").isPositive();
            }
        }
    }

    @Test
    void nonFiniteGroupStepRestoresParametersAndStatisticsOnEveryRank() {
        TrainConfig c = tiny(0);
        Batch good = TinyData.batch(c, 8, 1);
        float[] x = good.x().clone();
        x[7] = Float.POSITIVE_INFINITY;
        try (LibtorchEngine e = LibtorchEngine.create(c)) {
            e.trainStep(List.of(good), new long[0], ProcessGroup.SOLO);
            float[] before = e.snapshotState().params();
            GroupStep s = e.trainStep(List.of(TinyData.batch(c, 5, 2), new Batch(x, good.labels(), 3, 8, 8)), new long[0], ProcessGroup.SOLO);
            assertThat(s.result().nonFinite()).isTrue();
            assertThat(s.result().imagesSeen()).isEqualTo(21);
            float[] after = e.snapshotState().params();
            for (ParamLayout.Entry en : ParamLayout.of(c.wrn()).entries()) {
                // the running statistics too: every share's forward pass updated them, the skipped step restores them
                for (long i = en.offset(); i < en.offset() + en.length(); i++) {
                    assertThat(after[(int) i]).as(en.name() + "[" + (i - en.offset()) + "]").isEqualTo(before[(int) i]);
                }
            }
            assertThat(e.trainStep(List.of(good), new long[0], ProcessGroup.SOLO).result().nonFinite()).isFalse();
            assertThat(e.snapshotState().params()).isNotEqualTo(before);
        }
    }

    @Test
    void learningRateFollowsTheScheduleInImagesSeen() {
        OptimConfig step = new OptimConfig(0.1, 0.9, true, 5e-4, true, Schedule.STEP, new double[] {1, 2}, 0.2, 3, 8);
        TrainConfig c = tiny(0).withOptim(step);
        try (LibtorchEngine e = LibtorchEngine.create(c)) {
            double[] used = new double[3];
            for (int i = 0; i < 3; i++) used[i] = e.trainStep(TinyData.batch(c, 8, i)).learningRate();
            assertThat(used).containsExactly(new double[] {0.1, 0.02, 0.004}, within(1e-12));
        }
    }

    @Test
    void evaluationIsDeterministicInInferenceModeAndProbabilitiesSumToOne() {
        TrainConfig c = tiny(0.3);
        try (LibtorchEngine e = LibtorchEngine.create(c)) {
            e.trainStep(TinyData.batch(c, 8, 1));
            List<Batch> test = List.of(TinyData.batch(c, 8, 10), TinyData.batch(c, 5, 11));
            EvalResult r = e.evaluate(test.iterator());
            assertThat(r.images()).isEqualTo(13);
            assertThat(e.evaluate(test.iterator()).loss()).isEqualTo(r.loss());
            for (float[] row : e.predict(test.get(1))) {
                double s = 0;
                for (float v : row) s += v;
                assertThat(s).isCloseTo(1.0, within(1e-5));
            }
        }
    }

    @Test
    void invalidOptimiserAndBatchesAreRejectedWithTheirNames() {
        OptimConfig heavyBall = new OptimConfig(0.1, 0.9, false, 5e-4, true, Schedule.CONSTANT, null, 0.2, 1, 10);
        assertThatThrownBy(() -> LibtorchEngine.create(tiny(0).withOptim(heavyBall)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Invalid value false for optim.nesterov with optim.momentum=0.9: the libtorch engine "
                        + "supports Nesterov momentum only (nesterov=true) or no momentum (momentum=0)");
        try (LibtorchEngine e = LibtorchEngine.create(tiny(0))) {
            assertThatThrownBy(() -> e.trainStep(new Batch(new float[3 * 9 * 9], new int[] {0}, 3, 9, 9)))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("Batch of 3x9x9 images does not fit wrn-10-1 built for 3x8x8");
        }
    }

    @Test
    void plainSgdWithoutMomentumKeepsNoOptimiserState() {
        OptimConfig plain = new OptimConfig(0.1, 0.0, false, 5e-4, true, Schedule.CONSTANT, null, 0.2, 1, 10);
        TrainConfig c = tiny(0).withOptim(plain);
        try (LibtorchEngine e = LibtorchEngine.create(c)) {
            e.trainStep(TinyData.batch(c, 8, 1));
            assertThat(e.snapshotState().updater()).isEmpty();
            try (TrainingEngine again = Engines.restore(e.snapshot())) {
                assertThat(again.step()).isEqualTo(1);
            }
        }
    }
}
