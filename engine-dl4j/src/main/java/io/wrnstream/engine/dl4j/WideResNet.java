package io.wrnstream.engine.dl4j;

import io.wrnstream.model.wrn.Topology;
import io.wrnstream.model.wrn.WrnConfig;

import io.wrnstream.model.engine.AbstractEngine;
import io.wrnstream.model.optim.OptimConfig;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration.GraphBuilder;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.WorkspaceMode;
import org.deeplearning4j.nn.conf.dropout.Dropout;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DropoutLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.Nesterovs;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/**
 * WRN-d-k as a DL4J {@link ComputationGraph}, pre-activation as in the paper's reference code.
 *
 * <pre>
 * stem   conv3x3(C -> 16)
 * g1     n blocks, 16k channels, stride 1     (H x W)
 * g2     n blocks, 32k channels, first stride 2 (H/2 x W/2)
 * g3     n blocks, 64k channels, first stride 2 (H/4 x W/4)
 * head   BN-ReLU, global average pooling, dense softmax (cross-entropy)
 * block  BN-ReLU-conv3x3-BN-ReLU-[dropout]-conv3x3 + shortcut
 * </pre>
 *
 * The shortcut is the identity when the block keeps shape, else a 1x1 convolution (with the block's stride) of the
 * block's first BN-ReLU output. Convolutions have no bias and He initialisation; 3x3 convolutions pad by 1 on every
 * side ({@link ConvolutionMode#Truncate} with explicit padding, which reproduces PyTorch's {@code padding=1} exactly,
 * also at stride 2 where {@code Same} mode would shift the sampling grid by one pixel).
 *
 * <p>Names are generated: {@code stem.conv}, {@code g2.b0.conv1}, {@code g2.b0.shortcut}, {@code head.pool},
 * {@code output}. The optimiser is set here too because DL4J keeps it in the layer configuration: SGD with Nesterov
 * momentum and L2 weight decay on weights and biases; decay of BatchNorm gamma/beta is left to the engine (see
 * {@code Dl4jEngine}) because DL4J's BatchNormalization ignores regularisation.
 *
 * <pre>{@code
 * ComputationGraph net = WideResNet.build(WrnConfig.cifar10(16, 4), OptimConfig.paper(), 42);
 * long n = WideResNet.trainableParameters(net);   // 2,748,890
 * }</pre>
 */
public final class WideResNet {
    /** Name of the graph input. */
    public static final String INPUT = "input";
    /** Name of the global average pooling vertex, whose output feeds the classifier. */
    public static final String FEATURES = "head.pool";
    /** Name of the softmax output layer. */
    public static final String OUTPUT = "output";

    private final WrnConfig wrn;
    private final GraphBuilder graph;

    private WideResNet(WrnConfig wrn, OptimConfig optim, long seed, DataType dataType) {
        this.wrn = wrn;
        this.graph = new NeuralNetConfiguration.Builder()
                .seed(seed)
                .dataType(dataType)
                .updater(updater(optim))
                .weightInit(WeightInit.RELU)
                .l2(optim.weightDecay())
                .l2Bias(optim.weightDecay())
                .convolutionMode(ConvolutionMode.Truncate)
                .trainingWorkspaceMode(WorkspaceMode.ENABLED)
                .inferenceWorkspaceMode(WorkspaceMode.ENABLED)
                .graphBuilder()
                .addInputs(INPUT)
                .setInputTypes(InputType.convolutional(wrn.height(), wrn.width(), wrn.channels()));
    }

    /** The graph configuration of {@code wrn}, trained with {@code optim}, initialised from {@code seed}, in fp32. */
    public static ComputationGraphConfiguration configuration(WrnConfig wrn, OptimConfig optim, long seed) {
        return configuration(wrn, optim, seed, DataType.FLOAT);
    }

    /** As {@link #configuration(WrnConfig, OptimConfig, long)} in another precision (double for gradient checks). */
    public static ComputationGraphConfiguration configuration(WrnConfig wrn, OptimConfig optim, long seed, DataType dataType) {
        return new WideResNet(wrn, optim, seed, dataType).network();
    }

    /** A built and initialised network. */
    public static ComputationGraph build(WrnConfig wrn, OptimConfig optim, long seed) {
        ComputationGraph net = new ComputationGraph(configuration(wrn, optim, seed));
        net.init();
        return net;
    }

    /**
     * Trainable parameters of {@code net}: everything except BatchNorm's running mean and variance, which DL4J
     * stores among the parameters but updates from batch statistics, not gradients.
     */
    public static long trainableParameters(ComputationGraph net) {
        long n = 0;
        for (Layer layer : net.getLayers()) {
            if (layer.conf().getLayer() instanceof BatchNormalization) {
                n += layer.getParam("gamma").length() + layer.getParam("beta").length();
            } else {
                n += layer.numParams();
            }
        }
        return n;
    }

    /**
     * DL4J's SGD updater for {@code optim}: Nesterov momentum, or plain SGD without momentum. The learning rate here
     * is only the initial value; the engine sets the scheduled rate before every step.
     */
    static IUpdater updater(OptimConfig optim) {
        if (optim.momentum() == 0) {
            return new Sgd(optim.learningRate());
        }
        AbstractEngine.checkOptimiser(optim, Dl4jEngineProvider.NAME);
        return new Nesterovs(optim.learningRate(), optim.momentum());
    }

    private ComputationGraphConfiguration network() {
        Topology t = wrn.topology();
        // stem: C x H x W -> 16 x H x W
        String x = conv3x3(Topology.STEM, INPUT, t.stemOut(), 1);
        // g1: 16k x H x W; g2: 32k x H/2 x W/2; g3: 64k x H/4 x W/4
        for (Topology.Group g : t.groups()) {
            x = group(g, x);
        }
        // head: 64k x H/4 x W/4 -> BN-ReLU -> 64k (global average) -> classes
        x = bnRelu(Topology.HEAD, "", x);
        graph.addLayer(FEATURES, new GlobalPoolingLayer.Builder(PoolingType.AVG).build(), x);
        graph.addLayer(OUTPUT, new OutputLayer.Builder(LossFunction.MCXENT).activation(Activation.SOFTMAX)
                .nOut(t.classes()).build(), FEATURES);
        return graph.setOutputs(OUTPUT).build();
    }

    /** One group of n blocks; the first changes width and applies the stride. */
    private String group(Topology.Group g, String in) {
        String x = in;
        for (Topology.Block b : g.blocks()) {
            x = block(b, x);
        }
        return x;
    }

    /** One pre-activation block: BN-ReLU-conv3x3-BN-ReLU-[dropout]-conv3x3 plus shortcut. */
    private String block(Topology.Block b, String in) {
        String name = b.name();
        String act1 = bnRelu(name, "1", in);
        String x = conv3x3(name + ".conv1", act1, b.out(), b.stride());
        x = bnRelu(name, "2", x);
        if (wrn.dropout() > 0) {
            // DL4J's Dropout takes the retain probability; the config holds the drop probability.
            graph.addLayer(name + ".drop", new DropoutLayer.Builder(new Dropout(1.0 - wrn.dropout())).build(), x);
            x = name + ".drop";
        }
        x = conv3x3(name + ".conv2", x, b.out(), 1);
        String shortcut = in;
        if (b.projection()) {
            shortcut = name + ".shortcut";
            graph.addLayer(shortcut, new ConvolutionLayer.Builder(1, 1).stride(b.stride(), b.stride()).padding(0, 0)
                    .nOut(b.out()).hasBias(false).activation(Activation.IDENTITY).build(), act1);
        }
        graph.addVertex(name + ".add", new ElementWiseVertex(ElementWiseVertex.Op.Add), x, shortcut);
        return name + ".add";
    }

    /** BatchNorm then ReLU as a separate layer (DL4J ignores an activation set on BatchNormalization). */
    private String bnRelu(String unit, String index, String in) {
        String bn = unit + ".bn" + index;
        String relu = unit + ".relu" + index;
        graph.addLayer(bn, new BatchNormalization.Builder().build(), in);
        graph.addLayer(relu, new ActivationLayer.Builder().activation(Activation.RELU).build(), bn);
        return relu;
    }

    private String conv3x3(String name, String in, int outChannels, int stride) {
        graph.addLayer(name, new ConvolutionLayer.Builder(3, 3).stride(stride, stride).padding(1, 1)
                .nOut(outChannels).hasBias(false).activation(Activation.IDENTITY).build(), in);
        return name;
    }
}
