package io.wrnstream.model.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.wrnstream.model.eval.EvalResult;
import io.wrnstream.model.wrn.WrnConfig;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The assertions every engine must pass, whatever it computes with: one subclass per engine module names the engine
 * and its precision. Step and counters, bit-exact snapshot and restore (a restored engine continues exactly like one
 * that never stopped, dropout included), evaluation against prediction, refusal of bad shapes and labels, the
 * provider's declarations.
 */
public abstract class EngineContract {

    /** The engine under test, as named in {@link TrainConfig#engine()}. */
    protected abstract String engine();

    /** The precision the contract runs in (fp32 unless the subclass says otherwise). */
    protected String precision() {
        return "fp32";
    }

    protected TrainConfig config(double dropout) {
        return TinyData.tiny(dropout).withEngine(engine(), precision());
    }

    @Test
    void isFoundThroughServiceLoaderAndDeclaresWhatTrainConfigAllows() {
        assertThat(Engines.available()).contains(engine());
        EngineProvider p = Engines.provider(engine());
        assertThat(p.name()).isEqualTo(engine());
        assertThat(p.precisions()).isEqualTo(TrainConfig.precisions(engine())).contains("fp32");
        assertThat(p.precisions()).contains(p.defaultPrecision(EngineOptions.DEFAULT));
        assertThatThrownBy(() -> Engines.provider("no-such-engine")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("Invalid value 'no-such-engine' for engine: unknown engine; engines on the classpath: [")
                .hasMessageContaining(engine());
    }

    @Test
    void stepCountsStepsAndImagesAndChangesTheParameters() {
        TrainConfig c = config(0);
        try (TrainingEngine e = Engines.create(c)) {
            assertThat(e.parameterCount()).isEqualTo(c.wrn().trainableParameters());
            float[] before = EngineState.fromBytes(e.snapshot()).params();
            StepResult r = e.trainStep(TinyData.batch(c, 8, 1));
            assertThat(r.step()).isEqualTo(1);
            assertThat(r.imagesSeen()).isEqualTo(8);
            assertThat(e.step()).isEqualTo(1);
            assertThat(e.imagesSeen()).isEqualTo(8);
            assertThat(r.nonFinite()).isFalse();
            assertThat(r.learningRate()).isEqualTo(c.optim().learningRateAt(0));
            assertThat(r.loss()).isBetween(0.1, 10.0);
            assertThat(r.accuracy()).isBetween(0.0, 1.0);
            assertThat(EngineState.fromBytes(e.snapshot()).params()).isNotEqualTo(before);
        }
    }

    @Test
    void aRestoredEngineContinuesBitForBitLikeOneThatNeverStopped() {
        TrainConfig c = config(0.3);  // dropout on: the masks must repeat after a restore too
        try (TrainingEngine a = Engines.create(c)) {
            a.trainStep(TinyData.batch(c, 8, 1));
            a.trainStep(TinyData.batch(c, 8, 2));
            byte[] snapshot = a.snapshot();
            try (TrainingEngine b = Engines.restore(snapshot)) {
                assertThat(b.config()).isEqualTo(c);
                assertThat(b.step()).isEqualTo(2);
                assertThat(b.imagesSeen()).isEqualTo(16);
                assertThat(b.snapshot()).as("restore then snapshot gives the same bytes").isEqualTo(snapshot);
                StepResult ra = a.trainStep(TinyData.batch(c, 8, 3));
                StepResult rb = b.trainStep(TinyData.batch(c, 8, 3));
                assertThat(rb).isEqualTo(ra);
                assertThat(EngineState.fromBytes(b.snapshot()).params()).isEqualTo(EngineState.fromBytes(a.snapshot()).params());
            }
        }
    }

    @Test
    void evaluationAgreesWithPredictionsAndConsumesEveryBatch() {
        TrainConfig c = config(0);
        try (TrainingEngine e = Engines.create(c)) {
            for (int i = 0; i < 3; i++) e.trainStep(TinyData.batch(c, 8, i));
            Batch b1 = TinyData.batch(c, 8, 10), b2 = TinyData.batch(c, 5, 11);
            EvalResult r = e.evaluate(List.of(b1, b2).iterator());
            assertThat(r.images()).isEqualTo(13);
            long wrong = 0;
            for (Batch b : List.of(b1, b2)) {
                float[][] p = e.predict(b);
                assertThat(p).hasNumberOfRows(b.size());
                for (int i = 0; i < p.length; i++) {
                    double sum = 0;
                    for (float v : p[i]) sum += v;
                    assertThat(sum).as("probabilities sum to 1").isBetween(0.999, 1.001);
                    if (Evaluations.argmax(p[i]) != b.labels()[i]) wrong++;
                }
            }
            assertThat(r.error()).isEqualTo((double) wrong / 13);
            assertThat(e.step()).as("evaluation does not train").isEqualTo(3);
        }
    }

    @Test
    void refusesBatchesThatDoNotFitTheModelAndClosedUse() {
        TrainConfig c = config(0);
        WrnConfig w = c.wrn();
        TrainingEngine e = Engines.create(c);
        Batch wrongShape = new Batch(new float[2 * 3 * 9 * 9], new int[] {0, 1}, 3, 9, 9);
        assertThatThrownBy(() -> e.trainStep(wrongShape)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Batch of 3x9x9 images does not fit " + w.name() + " built for 3x8x8");
        assertThatThrownBy(() -> e.predict(wrongShape)).isInstanceOf(IllegalArgumentException.class);
        Batch badLabel = new Batch(new float[3 * 8 * 8], new int[] {w.classes()}, 3, 8, 8);
        assertThatThrownBy(() -> e.trainStep(badLabel)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Invalid label " + w.classes() + ": must be in [0, " + w.classes() + ")");
        assertThat(e.step()).as("a refused batch is not counted").isZero();
        e.close();
        e.close();  // idempotent
        assertThatThrownBy(() -> e.trainStep(TinyData.batch(c, 2, 1))).isInstanceOf(IllegalStateException.class)
                .hasMessage("Engine is closed");
    }
}
