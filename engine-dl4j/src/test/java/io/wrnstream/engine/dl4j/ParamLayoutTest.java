package io.wrnstream.engine.dl4j;

import io.wrnstream.model.engine.ParamLayout;

import static org.assertj.core.api.Assertions.assertThat;

import io.wrnstream.model.optim.OptimConfig;
import io.wrnstream.model.wrn.WrnConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class ParamLayoutTest {

    @BeforeAll
    static void fastPath() {
        CpuFastPath.enable();
    }

    @Test
    void trainableLengthIsTheReferenceParameterCount() {
        for (int[] dk : new int[][] {{40, 1}, {16, 4}, {28, 10}, {10, 1}}) {
            WrnConfig w = WrnConfig.cifar10(dk[0], dk[1]);
            assertThat(ParamLayout.of(w).trainableLength()).as(w.name()).isEqualTo(w.trainableParameters());
        }
        assertThat(ParamLayout.of(WrnConfig.cifar10(28, 10)).trainableLength()).isEqualTo(36_479_194L);
    }

    @Test
    void layoutIsDl4jsFlattenedParameterVectorArrayByArray() {
        // WRN-16-2: identity and projection shortcuts (a stride-2 one in g2 and g3), 5 classes; with and without dropout
        checkAgainstDl4j(new WrnConfig(16, 2, 0.3, 5, 3, 8, 8));
        checkAgainstDl4j(new WrnConfig(10, 1, 0, 4, 3, 8, 8));
    }

    private static void checkAgainstDl4j(WrnConfig w) {
        ParamLayout layout = ParamLayout.of(w);
        ComputationGraph net = WideResNet.build(w, OptimConfig.paper(), 1);
        try {
            // every parameter's value is its index in the flat vector
            net.params().assign(Nd4j.arange(0, net.params().length()).castTo(DataType.FLOAT).reshape(net.params().shape()));
            Map<String, INDArray> table = net.paramTable();
            // the flat order (each array's first value is its offset), which is not paramTable()'s key order
            List<String> flatOrder = table.entrySet().stream()
                    .sorted(java.util.Comparator.comparingDouble(en -> en.getValue().minNumber().doubleValue()))
                    .map(Map.Entry::getKey).toList();
            assertThat(flatOrder).containsExactlyElementsOf(
                    layout.entries().stream().map(ParamLayout.Entry::name).toList());
            assertThat(layout.length()).isEqualTo(net.params().length());
            for (ParamLayout.Entry e : layout.entries()) {
                INDArray p = table.get(e.name());
                assertThat(p.length()).as(e.name()).isEqualTo(e.length());
                float[] rowMajorTorch = expectedTorchOrder(p, e);
                for (int i = 0; i < rowMajorTorch.length; i++) {
                    assertThat(rowMajorTorch[i]).as("%s[%d]", e.name(), i).isEqualTo((float) (e.offset() + i));
                }
            }
        } finally {
            net.close();
        }
    }

    @Test
    void optimiserStateCoversTheTrainableArraysInOrder() {
        WrnConfig w = new WrnConfig(10, 1, 0, 4, 3, 8, 8);
        ParamLayout layout = ParamLayout.of(w);
        long expected = 0;
        List<String> trainable = new ArrayList<>();
        for (ParamLayout.Entry e : layout.entries()) {
            if (e.kind().trainable()) {
                assertThat(e.updaterOffset()).isEqualTo(expected);
                expected += e.length();
                trainable.add(e.name());
            } else {
                assertThat(e.updaterOffset()).isEqualTo(-1);
            }
        }
        assertThat(expected).isEqualTo(layout.trainableLength());
        assertThat(trainable).doesNotContain("g1.b0.bn1_mean", "g1.b0.bn1_log10stdev").contains("g1.b0.bn1_gamma", "output_b");
    }

    /** DL4J's array read in PyTorch's row-major order for that array (dense W is [in, out] in DL4J). */
    private static float[] expectedTorchOrder(INDArray p, ParamLayout.Entry e) {
        if (e.kind() == ParamLayout.Kind.DENSE_WEIGHT) {
            return Nd4j.toFlattened('c', p.transpose()).toFloatVector();
        }
        return Nd4j.toFlattened('c', p).toFloatVector();
    }
}
