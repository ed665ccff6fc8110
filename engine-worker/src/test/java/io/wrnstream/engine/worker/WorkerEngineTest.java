package io.wrnstream.engine.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.wrnstream.engine.torch.LibtorchEngine;
import io.wrnstream.model.engine.Batch;
import io.wrnstream.model.engine.EngineOptions;
import io.wrnstream.model.engine.EngineState;
import io.wrnstream.model.engine.Engines;
import io.wrnstream.model.engine.ParamLayout;
import io.wrnstream.model.engine.StepResult;
import io.wrnstream.model.engine.TinyData;
import io.wrnstream.model.engine.TrainConfig;
import io.wrnstream.model.engine.TrainingEngine;
import io.wrnstream.model.eval.EvalResult;
import io.wrnstream.model.optim.OptimConfig;
import io.wrnstream.model.optim.Schedule;
import io.wrnstream.model.wrn.WrnConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The worker engine against the same assertions as {@link LibtorchEngineTest}, run on the host's PyTorch (here
 * Debian's {@code python3-torch}); skipped, saying why, where no Python with PyTorch is found.
 */
class WorkerEngineTest {

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

    static TrainConfig tiny(double dropout) {
        return TinyData.tiny(dropout).withEngine("worker", "fp32");
    }

    @Test
    void parameterCountsEqualTheReferenceForThePapersModels() {
        for (int[] dk : new int[][] {{40, 1}, {16, 4}, {28, 10}}) {
            WrnConfig w = WrnConfig.cifar10(dk[0], dk[1]);
            try (TrainingEngine e = Engines.create(TrainConfig.paper(w).withEngine("worker", "fp32"))) {
                assertThat(e).isInstanceOf(WorkerEngine.class);
                assertThat(e.parameterCount()).as(w.name()).isEqualTo(w.trainableParameters());
            }
        }
    }

    @Test
    void oneStepChangesParametersAndCountsStepsAndImages() {
        TrainConfig c = tiny(0);
        try (WorkerEngine e = WorkerEngine.create(c)) {
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
    void freshEngineStartsFromTheLibtorchEnginesWeights() {
        TrainConfig c = tiny(0);
        try (WorkerEngine e = WorkerEngine.create(c)) {
            float[] expected = ParamLayout.of(c.wrn()).initialParams(c.seed());
            assertThat(e.snapshotState().canonical().params()).containsExactly(expected, within(1e-7f));
        }
    }

    @Test
    void restoredEngineContinuesLikeOneThatNeverStopped() {
        TrainConfig c = tiny(0.3);  // dropout on: masks must repeat after restore too
        try (WorkerEngine a = WorkerEngine.create(c)) {
            a.trainStep(TinyData.batch(c, 8, 1));
            a.trainStep(TinyData.batch(c, 8, 2));
            byte[] snapshot = a.snapshot();
            StepResult ra = a.trainStep(TinyData.batch(c, 8, 3));
            try (TrainingEngine b = Engines.restore(snapshot)) {
                assertThat(b).isInstanceOf(WorkerEngine.class);
                assertThat(b.step()).isEqualTo(2);
                assertThat(b.imagesSeen()).isEqualTo(16);
                assertThat(b.config()).isEqualTo(c);
                StepResult rb = b.trainStep(TinyData.batch(c, 8, 3));
                assertThat(rb.loss()).isCloseTo(ra.loss(), within(1e-6));
                assertThat(rb.accuracy()).isEqualTo(ra.accuracy());
                assertThat(((WorkerEngine) b).snapshotState().params())
                        .containsExactly(a.snapshotState().params(), within(1e-6f));
            }
        }
    }

    @Test
    void snapshotOfARestoredEngineIsBitIdentical() {
        TrainConfig c = tiny(0);
        try (WorkerEngine a = WorkerEngine.create(c)) {
            a.trainStep(TinyData.batch(c, 8, 1));
            EngineState s = a.snapshotState();
            try (WorkerEngine b = WorkerEngine.restore(s)) {
                EngineState t = b.snapshotState();
                assertThat(t.params()).containsExactly(s.params());
                assertThat(t.updater()).containsExactly(s.updater());
            }
        }
    }

    @Test
    void bf16StepRunsWithFiniteLossAndFp32MasterWeights() {
        TrainConfig c = TinyData.tiny(0).withEngine("worker", "bf16");
        try (WorkerEngine e = WorkerEngine.create(c)) {
            float[] before = e.snapshotState().params();
            StepResult r = e.trainStep(TinyData.batch(c, 8, 1));
            assertThat(r.nonFinite()).isFalse();
            assertThat(r.loss()).isFinite().isBetween(0.5, 5.0);
            float[] after = e.snapshotState().params();
            assertThat(after).isNotEqualTo(before);
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
        try (WorkerEngine e = WorkerEngine.create(c)) {
            float[] before = e.snapshotState().params();
            StepResult r = e.trainStep(new Batch(x, good.labels(), 3, 8, 8));
            assertThat(r.nonFinite()).isTrue();
            assertThat(r.step()).isEqualTo(1);
            float[] after = e.snapshotState().params();
            for (ParamLayout.Entry en : ParamLayout.of(c.wrn()).entries()) {
                if (!en.kind().trainable()) continue;
                for (long i = en.offset(); i < en.offset() + en.length(); i++) {
                    assertThat(after[(int) i]).isEqualTo(before[(int) i]);
                }
            }
            assertThat(e.trainStep(good).nonFinite()).isFalse();
        }
    }

    @Test
    void learningRateFollowsTheScheduleInImagesSeen() {
        OptimConfig step = new OptimConfig(0.1, 0.9, true, 5e-4, true, Schedule.STEP, new double[] {1, 2}, 0.2, 3, 8);
        TrainConfig c = tiny(0).withOptim(step);
        try (WorkerEngine e = WorkerEngine.create(c)) {
            double[] used = new double[3];
            for (int i = 0; i < 3; i++) used[i] = e.trainStep(TinyData.batch(c, 8, i)).learningRate();
            assertThat(used).containsExactly(new double[] {0.1, 0.02, 0.004}, within(1e-12));
        }
    }

    @Test
    void evaluationIsDeterministicInInferenceModeAndProbabilitiesSumToOne() {
        TrainConfig c = tiny(0.3);
        try (WorkerEngine e = WorkerEngine.create(c)) {
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
        assertThatThrownBy(() -> WorkerEngine.create(tiny(0).withOptim(heavyBall)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("Invalid value false for optim.nesterov with optim.momentum=0.9");
        try (WorkerEngine e = WorkerEngine.create(tiny(0))) {
            assertThatThrownBy(() -> e.trainStep(new Batch(new float[3 * 9 * 9], new int[] {0}, 3, 9, 9)))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("Batch of 3x9x9 images does not fit wrn-10-1 built for 3x8x8");
            assertThatThrownBy(() -> e.predict(new Batch(new float[3 * 9 * 9], new int[] {0}, 3, 9, 9)))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("Batch of 3x9x9 images does not fit wrn-10-1 built for 3x8x8");
            assertThatThrownBy(() -> e.trainStep(new Batch(new float[3 * 8 * 8], new int[] {4}, 3, 8, 8)))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("Invalid label 4: must be in [0, 4)");
            // the worker is still usable after refused batches
            assertThat(e.trainStep(TinyData.batch(tiny(0), 8, 1)).step()).isEqualTo(1);
        }
    }

    @Test
    void plainSgdWithoutMomentumKeepsNoOptimiserState() {
        OptimConfig plain = new OptimConfig(0.1, 0.0, false, 5e-4, true, Schedule.CONSTANT, null, 0.2, 1, 10);
        TrainConfig c = tiny(0).withOptim(plain);
        try (WorkerEngine e = WorkerEngine.create(c)) {
            e.trainStep(TinyData.batch(c, 8, 1));
            assertThat(e.snapshotState().updater()).isEmpty();
            try (TrainingEngine again = Engines.restore(e.snapshot())) {
                assertThat(again.step()).isEqualTo(1);
            }
        }
    }

    @Test
    void withoutAGpuItSaysInOneLineThatItTrainsOnTheCpu() {
        try (WorkerEngine e = WorkerEngine.create(tiny(0))) {
            assumeTrue(!e.onGpu(), "a GPU is visible here");
            assertThat(e.workerInfo().get("device").asText()).isEqualTo("cpu");
            assertThat(e.workerInfo().get("fallback").asText()).matches("PyTorch \\S+ \\(.*\\) sees no CUDA device: training on the CPU");
            assertThat(e.peakDeviceBytes()).isEqualTo(-1);
        }
    }

    @Test
    void askingForCudaWithoutAGpuIsRefusedWithTheReason() {
        try (WorkerEngine e = WorkerEngine.create(tiny(0))) {
            assumeTrue(!e.onGpu(), "a GPU is visible here");
        }
        assertThatThrownBy(() -> WorkerEngine.create(tiny(0), EngineOptions.DEFAULT.withDevice("cuda")).close())
                .isInstanceOf(IllegalStateException.class)
                .hasMessageMatching("PyTorch worker: RuntimeError: device=cuda, but PyTorch \\S+ \\(.*\\) sees no CUDA device");
    }

    @Test
    void aMissingInterpreterIsNamedInTheError() {
        System.setProperty(WorkerProcess.PYTHON_PROPERTY, "/nonexistent/python3");
        try {
            assertThatThrownBy(() -> WorkerEngine.create(tiny(0)))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageStartingWith("No Python with PyTorch for the worker engine (tried /nonexistent/python3: cannot run it");
        } finally {
            System.clearProperty(WorkerProcess.PYTHON_PROPERTY);
        }
    }

    @Test
    void aWorkerOfAnotherProtocolVersionIsRefusedNamingBoth(@TempDir Path dir) throws Exception {
        // an "interpreter" whose worker greets as protocol 1 did (no version field), then waits for the JVM to close
        Path fake = dir.resolve("python-v1");
        Files.writeString(fake, """
                #!/bin/sh
                exec /usr/bin/python3 -c 'import json, socket, struct, sys
                s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
                h = json.dumps({"ok": True, "torch": "0", "bytes": 0}).encode()
                s.sendall(struct.pack("<I", len(h)) + h); s.recv(1)' "$3"
                """);
        assertThat(fake.toFile().setExecutable(true)).isTrue();
        System.setProperty(WorkerProcess.PYTHON_PROPERTY, fake.toString());
        try {
            assertThatThrownBy(() -> WorkerEngine.create(tiny(0)))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessage("No Python with PyTorch for the worker engine (tried " + fake + ": the worker speaks protocol "
                            + "wrn-stream.worker/1, this JVM wrn-stream.worker/2 (a wrn_worker.py from another build?)). Install PyTorch "
                            + "or name an interpreter with -Dwrn.worker.python=... or WRN_WORKER_PYTHON.");
        } finally {
            System.clearProperty(WorkerProcess.PYTHON_PROPERTY);
        }
    }

    @Test
    void batchesThroughSharedMemoryAndOverTheSocketGiveTheSameResults() {
        TrainConfig c = tiny(0);
        // 100 and 400 images of 3x8x8 are 77 and 307 KB: over the 64 KB threshold, and the second outgrows the first file
        List<Batch> batches = List.of(TinyData.batch(c, 100, 1), TinyData.batch(c, 400, 2), TinyData.batch(c, 8, 3));
        float[][][] shmProbs = new float[3][][];
        double[] shmLoss = new double[3];
        try (WorkerEngine shm = WorkerEngine.create(c)) {
            for (int i = 0; i < 3; i++) {
                shmLoss[i] = shm.trainStep(batches.get(i)).loss();
                shmProbs[i] = shm.predict(batches.get(i));
            }
        }
        System.setProperty(WorkerProcess.SHM_PROPERTY, "false");
        try (WorkerEngine socket = WorkerEngine.create(c)) {
            for (int i = 0; i < 3; i++) {
                assertThat(socket.trainStep(batches.get(i)).loss()).as("batch %d", i).isEqualTo(shmLoss[i]);
                float[][] p = socket.predict(batches.get(i));
                for (int j = 0; j < p.length; j++) assertThat(p[j]).containsExactly(shmProbs[i][j]);
            }
        } finally {
            System.clearProperty(WorkerProcess.SHM_PROPERTY);
        }
    }
}
