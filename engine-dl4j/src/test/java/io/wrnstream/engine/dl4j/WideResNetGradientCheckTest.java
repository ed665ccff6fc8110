package io.wrnstream.engine.dl4j;

import io.wrnstream.model.wrn.WrnConfig;

import static org.assertj.core.api.Assertions.assertThat;

import io.wrnstream.model.optim.OptimConfig;
import io.wrnstream.model.optim.Schedule;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.shape.Shape;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Backprop through the whole WRN graph (stem, identity and projection blocks, BN, pooling, softmax) agrees with
 * central finite differences, in double precision, on a sample of entries of every trainable parameter array.
 *
 * <p>DL4J's own GradientCheckUtil walks every parameter of the graph (its subset option still scores far more
 * points than needed here), which takes minutes even for WRN-10-1; sampling a few entries per array checks every
 * layer's backward pass in seconds.
 */
class WideResNetGradientCheckTest {

    private static final double EPS = 1e-6;

    @Test
    void analyticGradientsOfATinyWrnMatchFiniteDifferences() {
        CpuFastPath.enable();
        WrnConfig wrn = new WrnConfig(10, 1, 0.0, 3, 3, 8, 8);
        // Plain SGD, no weight decay: the score is then the bare cross-entropy the gradient belongs to.
        OptimConfig sgd = new OptimConfig(1.0, 0.0, false, 0.0, false, Schedule.CONSTANT, null, 1, 1, 1);
        ComputationGraph net = new ComputationGraph(WideResNet.configuration(wrn, sgd, 12345, DataType.DOUBLE));
        net.init();

        Nd4j.getRandom().setSeed(12345);
        INDArray input = Nd4j.rand(DataType.DOUBLE, 6, 3, 8, 8).subi(0.5);  // batch > 1: BN uses batch statistics
        INDArray labels = Nd4j.zeros(DataType.DOUBLE, 6, 3);
        for (int i = 0; i < 6; i++) labels.putScalar(i, i % 3, 1.0);
        DataSet data = new DataSet(input, labels);

        net.setInputs(input);
        net.setLabels(labels);
        net.computeGradientAndScore();
        Map<String, INDArray> analytic = Map.copyOf(net.gradient().gradientForVariable());

        SplittableRandom random = new SplittableRandom(7);
        List<String> failures = new ArrayList<>();
        int checked = 0, arrays = 0;
        for (Map.Entry<String, INDArray> param : net.paramTable().entrySet()) {
            String key = param.getKey();
            if (key.endsWith("_mean") || key.endsWith("_var") || key.endsWith("_log10stdev")) continue;  // BN running stats
            INDArray p = param.getValue();   // a view into the network's parameters: perturbing it perturbs the net
            INDArray g = analytic.get(key);
            arrays++;
            for (int k = 0; k < 4; k++) {
                long[] at = Shape.ind2subC(p, random.nextLong(p.length()));  // shape indices: safe for 'f'-ordered arrays
                double original = p.getDouble(at);
                p.putScalar(at, original + EPS);
                double plus = net.score(data, true);
                p.putScalar(at, original - EPS);
                double minus = net.score(data, true);
                p.putScalar(at, original);
                double numeric = (plus - minus) / (2 * EPS);
                // DL4J's gradients are sums over the minibatch (its updater divides by the batch size); the score is a mean.
                double backprop = g.getDouble(at) / input.size(0);
                double absErr = Math.abs(numeric - backprop);
                double relErr = absErr / Math.max(Math.abs(numeric) + Math.abs(backprop), 1e-12);
                if (absErr > 1e-8 && relErr > 1e-3) {
                    failures.add(key + java.util.Arrays.toString(at) + ": backprop " + backprop + " vs numeric " + numeric);
                }
                checked++;
            }
        }
        assertThat(arrays).as("trainable parameter arrays checked").isGreaterThan(20);
        assertThat(checked).isEqualTo(arrays * 4);
        assertThat(failures).as("entries whose gradient disagrees with finite differences").isEmpty();
    }
}
