package io.wrnstream.engine.dl4j;

import static org.assertj.core.api.Assertions.assertThat;

import io.wrnstream.model.optim.OptimConfig;
import io.wrnstream.model.wrn.WrnConfig;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.layers.convolution.ConvolutionLayer;
import org.deeplearning4j.nn.layers.mkldnn.BaseMKLDNNHelper;
import org.deeplearning4j.nn.layers.normalization.BatchNormalization;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

class CpuFastPathTest {

    @Test
    void convolutionAndBatchNormLayersRunOnOneDnnHelpers() {
        Assumptions.assumeTrue(CpuFastPath.requested(), "fast path switched off with -Dwrn.fastpath=false");
        CpuFastPath.enable();
        CpuFastPath.Status status = CpuFastPath.status();

        assertThat(status.onednnBinary()).as("oneDNN build of libnd4jcpu loaded: %s", status).isTrue();
        assertThat(status.helpersEnabled()).as("helpers enabled: %s", status).isTrue();
        assertThat(BaseMKLDNNHelper.mklDnnEnabled()).as("DL4J's own oneDNN check").isTrue();
        assertThat(status.active()).isTrue();

        ComputationGraph net = WideResNet.build(WrnConfig.cifar10(10, 1), OptimConfig.paper(), 1);
        int convs = 0, bns = 0;
        for (Layer layer : net.getLayers()) {
            if (layer instanceof ConvolutionLayer conv) {
                assertThat(conv.getHelper()).as("helper of %s", layer.conf().getLayer().getLayerName()).isNotNull();
                assertThat(conv.getHelper().getClass().getSimpleName()).startsWith("MKLDNN");
                convs++;
            } else if (layer instanceof BatchNormalization bn) {
                assertThat(bn.getHelper()).as("helper of %s", layer.conf().getLayer().getLayerName()).isNotNull();
                bns++;
            }
        }
        assertThat(convs).isEqualTo(1 + 3 * 2 + 2);
        assertThat(bns).isEqualTo(3 * 2 + 1);
    }

    @Test
    void enableIsIdempotent() {
        CpuFastPath.enable();
        String ext = System.getProperty(CpuFastPath.PLATFORM_EXTENSION);
        CpuFastPath.enable();
        assertThat(System.getProperty(CpuFastPath.PLATFORM_EXTENSION)).isEqualTo(ext);
        assertThat(CpuFastPath.status()).isEqualTo(CpuFastPath.status());
    }
}
