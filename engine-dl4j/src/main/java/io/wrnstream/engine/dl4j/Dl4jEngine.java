package io.wrnstream.engine.dl4j;

import io.wrnstream.model.engine.AbstractEngine;
import io.wrnstream.model.engine.Batch;
import io.wrnstream.model.engine.DeviceMemory;
import io.wrnstream.model.engine.EngineState;
import io.wrnstream.model.engine.Evaluations;
import io.wrnstream.model.engine.TrainConfig;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.updater.UpdaterBlock;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.Nesterovs;
import org.nd4j.linalg.learning.config.Sgd;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The DL4J implementation of {@link TrainingEngine}: a {@link WideResNet} trained by SGD with Nesterov momentum.
 *
 * <p><b>One step</b> ({@link #trainStep}) does what DL4J's {@code fit} does, spelled out so that it can (1) set the
 * scheduled learning rate, (2) add weight decay to BatchNorm's gamma and beta, (3) skip a non-finite update and
 * (4) report the batch's loss and accuracy without a second forward pass:
 * forward and backward ({@code computeGradientAndScore}), BN decay, finite check, updater, {@code params -= update}.
 * Loss and accuracy come from the classifier applied to the pooled features that the forward pass hands to a
 * listener: one small matrix product, no second pass through the convolutions.
 *
 * <p><b>Learning rate.</b> Before each step the rate {@code OptimConfig.learningRateAt(imagesSeen)} is written into
 * the updater configurations the network's updater blocks use (no updater rebuild, momentum kept). The rate is thus a
 * pure function of the images seen, so it survives snapshot and restore without extra state.
 *
 * <p><b>Nesterov, DL4J vs PyTorch.</b> DL4J keeps a velocity with the rate folded in, {@code v = mu*v - lr*g},
 * and steps {@code p += -mu*v_prev + (1+mu)*v}; PyTorch keeps an lr-free buffer {@code b = mu*b + g} and steps
 * {@code p -= lr*(g + mu*b)}. With a constant rate the two produce identical parameters (both give
 * {@code -(1+mu)*lr*g} on the first step). When the rate changes, DL4J's velocity still carries the old rate for
 * roughly {@code 1/(1-mu)} = 10 steps while PyTorch rescales at once: a short transient after each milestone of
 * the step schedule, harmless for training but a known difference from the reference code.
 *
 * <p><b>Weight decay.</b> L2 added to the gradient before the momentum update ({@code g += wd*p}), like PyTorch's
 * {@code weight_decay}, on convolution weights and the classifier's weights and bias. DL4J never regularises
 * BatchNorm, while the reference code decays every parameter; with {@code OptimConfig.decayBatchNorm()} (the default)
 * this engine adds {@code wd*gamma} and {@code wd*beta} to their gradients itself, with it off BN is not decayed.
 *
 * <p><b>Randomness.</b> Weights come from {@code TrainConfig.seed()}; before each step ND4J's generator is reseeded
 * from (seed, step), so dropout masks are a function of the step and a restored engine repeats them.
 *
 * <p><b>Non-finite steps.</b> If the loss or any gradient is NaN/Inf the update is skipped, the counters still
 * advance (the batch was consumed) and the result says {@code nonFinite}.
 */
public final class Dl4jEngine extends AbstractEngine {
    static {
        CpuFastPath.enable();
    }

    private static final Logger LOG = LoggerFactory.getLogger(Dl4jEngine.class);

    private final ComputationGraph net;
    private final List<IUpdater> updaterConfigs;
    private final List<Layer> batchNorms;
    private final Layer output;
    private final long trainable;
    private final BatchStats stats = new BatchStats();

    private Dl4jEngine(TrainConfig config, long step, long imagesSeen) {
        super(config, step, imagesSeen, Dl4jEngineProvider.NAME);
        CpuFastPath.status();
        this.net = new ComputationGraph(WideResNet.configuration(config.wrn(), config.optim(), config.seed()));
        net.init();
        this.trainable = WideResNet.trainableParameters(net);
        this.output = net.getLayer(WideResNet.OUTPUT);
        List<Layer> bns = new ArrayList<>();
        for (Layer layer : net.getLayers()) {
            if (layer.conf().getLayer() instanceof BatchNormalization) bns.add(layer);
        }
        this.batchNorms = List.copyOf(bns);
        this.updaterConfigs = collectUpdaterConfigs(net);
        net.setListeners(stats);
    }

    /** A fresh engine, weights initialised from {@code config.seed()}. */
    public static Dl4jEngine create(TrainConfig config) {
        Dl4jEngine e = new Dl4jEngine(config, 0, 0);
        LOG.info("Created DL4J engine for {} ({} trainable parameters): {}", config.wrn().name(), e.trainable, config);
        return e;
    }

    /** An engine that continues exactly where the one that produced {@code state} stopped. */
    public static Dl4jEngine restore(EngineState snapshot) {
        EngineState state = snapshot.inForms(EngineState.Forms.CANONICAL);  // DL4J's own forms
        Dl4jEngine e = new Dl4jEngine(state.config(), state.step(), state.imagesSeen());
        INDArray params = e.net.params();
        if (params.length() != state.params().length) {
            throw new IllegalArgumentException("Snapshot has " + state.params().length + " parameters, but "
                    + state.config().wrn().name() + " has " + params.length());
        }
        params.assign(Nd4j.createFromArray(state.params()).reshape(params.shape()));
        INDArray upd = e.updaterState();
        long updLength = upd == null ? 0 : upd.length();
        if (updLength != state.updater().length) {
            throw new IllegalArgumentException("Snapshot has " + state.updater().length + " optimiser values, expected " + updLength);
        }
        if (upd != null && updLength > 0) {
            upd.assign(Nd4j.createFromArray(state.updater()).reshape(upd.shape()));
        }
        e.net.getConfiguration().setIterationCount((int) Math.min(Integer.MAX_VALUE, state.step()));
        return e;
    }

    @Override
    protected Outcome computeStep(Batch batch, double lr, long dropoutSeed) {
        setLearningRate(lr);
        Nd4j.getRandom().setSeed(dropoutSeed);

        net.setInputs(features(batch));
        net.setLabels(oneHot(batch.labels()));
        stats.reset(batch.labels());
        net.computeGradientAndScore();
        double score = net.score();
        Gradient gradient = net.gradient();
        INDArray flatGradient = net.getFlattenedGradients();

        boolean finite = Double.isFinite(score) && stats.ready() && Double.isFinite(stats.loss)
                && Double.isFinite(flatGradient.sumNumber().doubleValue());
        if (finite) {
            if (config.optim().decayBatchNorm() && config.optim().weightDecay() > 0) {
                decayBatchNorm(gradient, config.optim().weightDecay(), batch.size());
            }
            int iteration = (int) Math.min(Integer.MAX_VALUE, step());
            net.getUpdater().update(gradient, iteration, 0, batch.size(), LayerWorkspaceMgr.noWorkspaces());
            INDArray params = net.params();
            params.subi(flatGradient.reshape(params.shape()));
            net.getConfiguration().setIterationCount(iteration + 1);
        }
        net.clearLayersStates();
        return new Outcome(stats.loss, stats.accuracy, finite);
    }

    @Override
    protected EngineState exportState() {
        INDArray upd = updaterState();
        float[] updater = upd == null ? new float[0] : upd.toFloatVector();
        return state(net.params().toFloatVector(), updater, EngineState.Forms.CANONICAL);
    }

    @Override
    protected float[][] probabilities(Batch b) {
        INDArray out = net.outputSingle(false, features(b));
        float[][] p = out.toFloatMatrix();
        net.clearLayersStates();
        return p;
    }

    @Override
    public long parameterCount() {
        return trainable;
    }

    /** The memory of the CUDA device this thread trains on, when ND4J's CUDA backend is loaded. */
    @Override
    public java.util.Optional<DeviceMemory> deviceMemory() {
        if (Nd4j.getEnvironment().isCPU()) return java.util.Optional.empty();
        int device = Nd4j.getAffinityManager().getDeviceForCurrentThread();
        org.nd4j.nativeblas.NativeOps ops = org.nd4j.nativeblas.NativeOpsHolder.getInstance().getDeviceNativeOps();
        return java.util.Optional.of(new DeviceMemory() {
            @Override
            public String device() {
                return "cuda:" + device;
            }

            @Override
            public long totalBytes() {
                return ops.getDeviceTotalMemory(device);
            }

            @Override
            public long usedBytes() {
                return ops.getDeviceTotalMemory(device) - ops.getDeviceFreeMemory(device);
            }
        });
    }

    /** The underlying network, for tools that need DL4J directly (benchmarks, inspection). */
    public ComputationGraph network() {
        return net;
    }

    /** The learning rate the network's updater blocks will apply next (all blocks agree); for tests and logs. */
    double effectiveLearningRate() {
        double lr = Double.NaN;
        for (UpdaterBlock block : net.getUpdater().getUpdaterBlocks()) {
            double blockLr = block.getGradientUpdater().getConfig().getLearningRate(0, 0);
            if (Double.isNaN(blockLr)) continue;  // NoOp blocks (BatchNorm running statistics)
            if (!Double.isNaN(lr) && lr != blockLr) {
                throw new IllegalStateException("Updater blocks disagree on the learning rate: " + lr + " vs " + blockLr);
            }
            lr = blockLr;
        }
        return lr;
    }

    @Override
    protected void release() {
        net.close();
    }

    private static INDArray features(Batch b) {
        return Nd4j.create(b.x(), new long[] {b.size(), b.channels(), b.height(), b.width()}, 'c');
    }

    private INDArray oneHot(int[] labels) {
        float[] y = new float[labels.length * config.wrn().classes()];
        for (int i = 0; i < labels.length; i++) y[i * config.wrn().classes() + labels[i]] = 1f;
        return Nd4j.create(y, new long[] {labels.length, config.wrn().classes()}, 'c');
    }

    private INDArray updaterState() {
        return net.getUpdater().getStateViewArray();
    }

    private void setLearningRate(double lr) {
        for (IUpdater u : updaterConfigs) {
            if (u instanceof Nesterovs n) n.setLearningRate(lr);
            else if (u instanceof Sgd s) s.setLearningRate(lr);
        }
    }

    /**
     * L2 on BatchNorm gamma and beta, so that the updater sees {@code g + wd*p} like for the weights. The gradient at
     * this point is still summed over the batch (DL4J's updater divides by the batch size before it applies its own
     * regularisation), hence the factor {@code batchSize}.
     */
    private void decayBatchNorm(Gradient gradient, double wd, int batchSize) {
        for (Layer bn : batchNorms) {
            String name = bn.conf().getLayer().getLayerName();
            for (String p : new String[] {"gamma", "beta"}) {
                INDArray g = gradient.getGradientFor(name + "_" + p);
                if (g != null) g.addi(bn.getParam(p).mul(wd * batchSize));
            }
        }
    }

    /** The distinct SGD/Nesterov configurations that the layers (and so the updater blocks) refer to. */
    private static List<IUpdater> collectUpdaterConfigs(ComputationGraph net) {
        Set<IUpdater> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        for (Layer layer : net.getLayers()) {
            for (String param : layer.paramTable().keySet()) {
                IUpdater u = layer.conf().getLayer().getUpdaterByParam(param);
                if (u instanceof Nesterovs || u instanceof Sgd) seen.add(u);
            }
        }
        net.getUpdater();  // creates the updater blocks now, from these same configuration objects
        return List.copyOf(seen);
    }

    /**
     * Loss and accuracy of the current training batch, from the pooled features of the forward pass DL4J already
     * does: logits = features x W + b of the classifier, then a stable log-softmax.
     */
    private final class BatchStats extends BaseTrainingListener {
        private int[] labels;
        private double loss;
        private double accuracy;
        private boolean ready;

        void reset(int[] labels) {
            this.labels = labels;
            this.ready = false;
            this.loss = Double.NaN;
            this.accuracy = Double.NaN;
        }

        boolean ready() {
            return ready;
        }

        @Override
        public void onForwardPass(Model model, Map<String, INDArray> activations) {
            INDArray pooled = activations.get(WideResNet.FEATURES);
            if (pooled == null || labels == null) return;
            INDArray logits = pooled.castTo(DataType.FLOAT).mmul(output.getParam("W")).addiRowVector(output.getParam("b"));
            float[][] z = logits.toFloatMatrix();
            double lossSum = 0;
            int correct = 0;
            for (int i = 0; i < z.length; i++) {
                int best = Evaluations.argmax(z[i]);
                double max = z[i][best], sum = 0;
                for (float v : z[i]) sum += Math.exp(v - max);
                lossSum += max + Math.log(sum) - z[i][labels[i]];
                if (best == labels[i]) correct++;
            }
            loss = lossSum / z.length;
            accuracy = (double) correct / z.length;
            ready = true;
        }
    }
}
