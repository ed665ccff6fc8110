package io.wrnstream.engine.dl4j;

import io.wrnstream.model.wrn.WrnConfig;

import static org.assertj.core.api.Assertions.assertThat;

import io.wrnstream.model.optim.OptimConfig;
import java.util.Arrays;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class WideResNetTest {

    @BeforeAll
    static void fastPath() {
        CpuFastPath.enable();
    }

    private static long params(int depth, int widen) {
        ComputationGraph net = WideResNet.build(WrnConfig.cifar10(depth, widen), OptimConfig.paper(), 1);
        try {
            return WideResNet.trainableParameters(net);
        } finally {
            net.close();
        }
    }

    @Test
    void wrn40x1HasThePapersParameterCount() {
        assertThat(params(40, 1)).isEqualTo(563_930L);
    }

    @Test
    void wrn16x4HasThePapersParameterCount() {
        assertThat(params(16, 4)).isEqualTo(2_748_890L);
    }

    @Test
    void wrn28x10HasThePapersParameterCount() {
        assertThat(params(28, 10)).isEqualTo(36_479_194L);
    }

    @Test
    void cifarShapedInputGivesOneProbabilityRowPerImage() {
        ComputationGraph net = WideResNet.build(WrnConfig.cifar10(10, 1), OptimConfig.paper(), 1);
        INDArray out = net.outputSingle(Nd4j.rand(org.nd4j.linalg.api.buffer.DataType.FLOAT, 2, 3, 32, 32));
        assertThat(out.shape()).containsExactly(2, 10);
        assertThat(out.sum(1).toDoubleVector()).containsExactly(new double[] {1, 1}, org.assertj.core.data.Offset.offset(1e-4));
    }

    @Test
    void greyscaleMnistShapedInputWorksWithOddSpatialSizes() {
        // 28 -> 14 -> 7: the stride-2 groups must handle the odd size the way padding=1 does in PyTorch.
        WrnConfig fashion = new WrnConfig(10, 1, 0.3, 5, 1, 28, 28);
        ComputationGraph net = WideResNet.build(fashion, OptimConfig.paper(), 1);
        assertThat(net.outputSingle(Nd4j.rand(org.nd4j.linalg.api.buffer.DataType.FLOAT, 3, 1, 28, 28)).shape())
                .containsExactly(3, 5);
        assertThat(net.getLayer("g3.b0.conv2").input()).isNull();
        assertThat(net.getConfiguration().getVertices()).containsKey("g1.b0.drop");
    }

    @Test
    void layerNamesAreGeneratedPerGroupAndBlock() {
        ComputationGraph net = WideResNet.build(WrnConfig.cifar10(16, 2), OptimConfig.paper(), 1);
        String[] names = Arrays.stream(net.getLayers()).map(l -> l.conf().getLayer().getLayerName()).toArray(String[]::new);
        assertThat(names).contains("stem.conv", "g1.b0.bn1", "g1.b0.relu1", "g1.b0.conv1", "g1.b0.bn2", "g1.b0.conv2",
                "g1.b0.shortcut", "g1.b1.conv2", "g2.b0.shortcut", "g3.b1.conv1", "head.bn", "head.relu",
                WideResNet.FEATURES, WideResNet.OUTPUT);
        // widths 16 -> 32 in g1 (k=2) need a projection; g1.b1 keeps shape and uses the identity.
        assertThat(names).doesNotContain("g1.b1.shortcut", "g1.b0.drop");
        assertThat(net.getConfiguration().getVertices()).containsKeys("g1.b0.add", "g3.b1.add");
    }

    @Test
    void widthOneFirstBlockUsesIdentityShortcut() {
        ComputationGraph net = WideResNet.build(WrnConfig.cifar10(10, 1), OptimConfig.paper(), 1);
        assertThat(net.getConfiguration().getVertices()).doesNotContainKey("g1.b0.shortcut").containsKey("g2.b0.shortcut");
    }
}
