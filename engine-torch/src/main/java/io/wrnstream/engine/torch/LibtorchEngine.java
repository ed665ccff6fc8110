package io.wrnstream.engine.torch;

import io.wrnstream.model.engine.AbstractEngine;
import io.wrnstream.model.engine.Batch;
import io.wrnstream.model.engine.EngineOptions;
import io.wrnstream.model.engine.EngineState;
import io.wrnstream.model.engine.ProcessGroup;
import io.wrnstream.model.engine.ParamLayout;
import io.wrnstream.model.engine.TrainConfig;

import io.wrnstream.model.optim.OptimConfig;
import io.wrnstream.model.wrn.Topology;
import io.wrnstream.model.wrn.WrnConfig;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.DeviceType;
import org.bytedeco.pytorch.global.torch.MemoryFormat;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The libtorch implementation of {@link TrainingEngine} (PyTorch's C++ library through the JavaCPP presets): the
 * same WRN-d-k as {@code WideResNet}, written with functional ops over parameter tensors this class owns, trained
 * by the same SGD with Nesterov momentum, and snapshotted in the same {@link ParamLayout}, so that either engine
 * can serve or continue a model the other trained.
 *
 * <p><b>Network.</b> Pre-activation blocks BN-ReLU-conv3x3-BN-ReLU-[dropout]-conv3x3 plus shortcut (identity, or a
 * 1x1 convolution of the first BN-ReLU output when the block changes shape), no convolution bias, padding 1,
 * BatchNorm with DL4J's settings (eps 1e-5, running averages {@code 0.9*old + 0.1*batch}), global average pooling,
 * linear classifier. He initialisation like DL4J's {@code WeightInit.RELU} (normal, std {@code sqrt(2/fanIn)}),
 * drawn in Java from {@code TrainConfig.seed()}.
 *
 * <p><b>One step.</b> Forward (under autocast for bf16), mean cross-entropy, backward, then per trainable tensor
 * without autograd: {@code g += wd*p} (BatchNorm only with {@code decayBatchNorm}), {@code b = mu*b + g},
 * {@code p -= lr*(g + mu*b)}: PyTorch's {@code SGD(nesterov=True, dampening=0)}. The rate is
 * {@code OptimConfig.learningRateAt(imagesSeen)}. A non-finite loss or gradient skips the update (counters still
 * advance). Every step runs inside a {@link PointerScope} so its native temporaries are freed at once (without it,
 * native memory grew by about 370 MB per step). Dropout masks come from libtorch's generator reseeded from
 * (seed, step) before each step, so a restored engine repeats them.
 *
 * <p><b>Precision.</b> {@code fp32}, or {@code bf16}: autocast (per thread) runs convolutions and the classifier in
 * bfloat16 while the parameters, their gradients and the momentum stay fp32 (master weights), and activations and
 * weights are kept channels-last, which lets oneDNN use its blocked bf16 kernels (AMX or AVX-512-BF16 where the CPU
 * has them; elsewhere it runs, slower).
 *
 * <p><b>Device.</b> CUDA when the GPU build of the natives is on the classpath and a GPU is visible, else the CPU;
 * the system property {@value TorchNatives#DEVICE_PROPERTY} overrides. Thread count: {@code torch.set_num_threads},
 * process-wide, set by the CLI.
 *
 * <p>Not thread-safe; one thread trains it (autocast and the seed are per thread or process-wide state of libtorch).
 */
public final class LibtorchEngine extends AbstractEngine {
    private static final Logger LOG = LoggerFactory.getLogger(LibtorchEngine.class);
    /** DL4J's BatchNorm defaults, which {@code WideResNet} keeps: eps 1e-5, decay 0.9 (PyTorch momentum 0.1). */
    static final double BN_EPS = 1e-5, BN_MOMENTUM = 0.1;
    /** System property: channels-last memory format on or off; default on for bf16, off for fp32. */
    static final String CHANNELS_LAST_PROPERTY = "wrn.torch.channels-last";

    private final ParamLayout layout;
    private final Device device;
    private final DeviceType deviceType;
    private final boolean bf16;
    private final boolean channelsLast;
    private final List<Slot> slots = new ArrayList<>();
    private final Tensor stem;
    /** The three groups of blocks, as {@link Topology} lists them. */
    private final List<List<Block>> groups = new ArrayList<>();
    private final Bn head;
    private final Tensor denseW;
    private final TensorOptional denseB;
    private final TensorOptional noBias = new TensorOptional();
    /** Trainable slots, in layout order: the order of the gradients in the data-parallel exchange buffer. */
    private final List<Slot> trainable = new ArrayList<>();
    /** BatchNorm running mean and variance slots, in layout order: after the gradients in the exchange buffer. */
    private final List<Slot> bnStats = new ArrayList<>();
    /** Data-parallel buffers, allocated on the first group step: [gradients | BN statistics | loss sum, correct]. */
    private Tensor exchangeBuffer;
    /** BatchNorm statistics at the start of the current group step. */
    private Tensor startStats;
    /** This engine's own dropout generator for group steps (CPU): ranks in one JVM must not share libtorch's global one. */
    private Generator shareGenerator;
    private long gradientLength;
    private long statsLength;

    /** One array of the layout and the tensor that holds it (plus its momentum buffer when trainable). */
    private record Slot(ParamLayout.Entry entry, Tensor tensor, Tensor momentum) {}

    private record Bn(TensorOptional gamma, TensorOptional beta, TensorOptional mean, TensorOptional var) {}

    private record Block(Bn bn1, Tensor conv1, Bn bn2, Tensor conv2, Tensor shortcut, long stride) {}

    private LibtorchEngine(TrainConfig config, EngineOptions options, float[] params, float[] updater, long step, long imagesSeen) {
        super(config, step, imagesSeen, TorchEngineProvider.NAME);
        this.layout = ParamLayout.of(config.wrn());
        this.bf16 = "bf16".equals(config.precision());
        this.channelsLast = Boolean.parseBoolean(System.getProperty(CHANNELS_LAST_PROPERTY, Boolean.toString(bf16)));
        String spec = options.device();
        boolean cuda = spec.startsWith("cuda") || (spec.equals("auto") && torch.cuda_is_available());
        if (cuda && !torch.cuda_is_available()) {
            throw new IllegalStateException("device=" + spec
                    + " but no CUDA device is usable (the GPU natives come with mvn -Ptorch-gpu)");
        }
        this.deviceType = cuda ? DeviceType.CUDA : DeviceType.CPU;
        this.device = cuda ? new Device(DeviceType.CUDA, (byte) (spec.contains(":") ? Integer.parseInt(spec.substring(5)) : 0))
                : new Device(DeviceType.CPU);

        if (params.length != layout.length()) {
            throw new IllegalArgumentException("Snapshot has " + params.length + " parameters, but " + config.wrn().name()
                    + " has " + layout.length());
        }
        long updLength = config.optim().momentum() > 0 ? layout.trainableLength() : 0;
        if (updater.length != updLength) {
            throw new IllegalArgumentException("Snapshot has " + updater.length + " optimiser values, expected " + updLength);
        }
        Map<String, Tensor> byName = new HashMap<>();
        try (NoGradGuard noGrad = new NoGradGuard()) {
            for (ParamLayout.Entry e : layout.entries()) {
                float[] values = slice(params, e.offset(), e.length());
                Tensor t = toDevice(values, e.shape(), e.shape().length == 4);
                Tensor m = null;
                if (e.kind().trainable()) {
                    t.requires_grad_(true);
                    if (updLength > 0) {
                        m = toDevice(slice(updater, e.updaterOffset(), e.length()), e.shape(), e.shape().length == 4);
                    }
                }
                Slot slot = new Slot(e, t, m);
                slots.add(slot);
                if (e.kind().trainable()) trainable.add(slot);
                if (e.kind() == ParamLayout.Kind.BN_MEAN || e.kind() == ParamLayout.Kind.BN_LOG10_STD) bnStats.add(slot);
                byName.put(e.name(), t);
            }
        }
        Topology t = config.wrn().topology();
        this.stem = byName.get(Topology.STEM + "_W");
        for (Topology.Group g : t.groups()) {
            List<Block> blocks = new ArrayList<>();
            groups.add(blocks);
            for (Topology.Block tb : g.blocks()) {
                String b = tb.name();
                blocks.add(new Block(bn(byName, b + ".bn1"), byName.get(b + ".conv1_W"), bn(byName, b + ".bn2"),
                        byName.get(b + ".conv2_W"), tb.projection() ? byName.get(b + ".shortcut_W") : null, tb.stride()));
            }
        }
        this.head = bn(byName, Topology.HEAD + ".bn");
        this.denseW = byName.get("output_W");
        this.denseB = new TensorOptional(byName.get("output_b"));
    }

    /** Loads the natives (safely, see {@code TorchNatives}) and sets libtorch's intra-op thread count, process-wide. */
    public static void setThreads(int threads) {
        TorchNatives.load();
        torch.set_num_threads(threads);
    }

    /** A fresh engine, weights initialised from {@code config.seed()}. */
    public static LibtorchEngine create(TrainConfig config) {
        return create(config, EngineOptions.DEFAULT);
    }

    /** A fresh engine on the device {@code options} names, weights initialised from {@code config.seed()}. */
    public static LibtorchEngine create(TrainConfig config, EngineOptions options) {
        TorchNatives.load();
        ParamLayout layout = ParamLayout.of(config.wrn());
        long updLength = config.optim().momentum() > 0 ? layout.trainableLength() : 0;
        LibtorchEngine e = new LibtorchEngine(config, options, initialParams(layout, config.seed()), new float[(int) updLength], 0, 0);
        LOG.info("Created libtorch engine for {} ({} trainable parameters) on {} in {}{}: {}", config.wrn().name(),
                layout.trainableLength(), e.deviceType, config.precision(), e.channelsLast ? " channels-last" : "", config);
        if (e.deviceType == DeviceType.CPU && TorchNatives.gpuBuild()) {
            LOG.warn("libtorch's GPU build found no usable CUDA device (device={}): training on the CPU", options.device());
        }
        return e;
    }

    /** An engine that continues where the one that produced {@code state} stopped (either engine's snapshot). */
    public static LibtorchEngine restore(EngineState state) {
        return restore(state, EngineOptions.DEFAULT);
    }

    /** As {@link #restore(EngineState)}, on the device {@code options} names. */
    public static LibtorchEngine restore(EngineState state, EngineOptions options) {
        TorchNatives.load();
        EngineState s = state.inForms(EngineState.Forms.TORCH);  // running variance and lr-free momentum, as libtorch holds them
        return new LibtorchEngine(s.config(), options, s.params(), s.updater(), s.step(), s.imagesSeen());
    }

    /**
     * He-normal weights (std {@code sqrt(2/fanIn)}, like DL4J's {@code WeightInit.RELU}), BatchNorm gamma 1, beta 0,
     * running mean 0 and variance 1, classifier bias 0, in the canonical layout.
     */
    static float[] initialParams(ParamLayout layout, long seed) {
        return layout.initialParams(seed);  // in the model module, so that every PyTorch-style engine starts alike
    }

    @Override
    protected Outcome computeStep(Batch batch, double lr, long dropoutSeed) {
        int n = batch.size(), classes = config.wrn().classes();
        float[] logits = new float[n * classes];
        double loss;
        boolean finite;
        try (PointerScope scope = new PointerScope()) {
            torch.manual_seed(dropoutSeed);
            Tensor x = input(batch);
            Tensor y = labels(batch);
            // batch_norm(training) updates the running statistics in the forward pass, before the finite check below.
            List<Tensor> runningStats = new ArrayList<>();
            try (NoGradGuard noGrad = new NoGradGuard()) {
                for (Slot s : slots) {
                    if (!s.entry().kind().trainable()) runningStats.add(s.tensor().clone());
                }
            }
            Tensor out;
            try (Autocast ac = new Autocast()) {
                out = forward(x, true).to(ScalarType.Float);
            }
            Tensor lossTensor = torch.nll_loss(torch.log_softmax(out, 1), y);
            lossTensor.backward();
            loss = lossTensor.item_double();
            copyOut(out.detach(), logits);
            try (NoGradGuard noGrad = new NoGradGuard()) {
                finite = Double.isFinite(loss) && gradientsFinite();
                if (finite) {
                    update(lr);
                } else {
                    int i = 0;
                    for (Slot s : slots) { // the skipped step must not leave its batch in the running statistics
                        if (!s.entry().kind().trainable()) s.tensor().copy_(runningStats.get(i++));
                    }
                }
                for (Slot s : slots) {
                    if (s.entry().kind().trainable()) s.tensor().mutable_grad().reset();
                }
            }
        }
        return new Outcome(loss, accuracy(logits, batch.labels(), classes), finite);
    }

    // --- Data-parallel step (see AbstractEngine#trainStep(List, long[], ProcessGroup)) --------------------------------

    /**
     * Phase 1: for each share, from the step's starting BatchNorm statistics, forward and backward of the share's mean
     * loss times its image count (autograd sums the shares' gradients); the statistics each share produced are summed,
     * image-weighted, into the exchange buffer after the gradients, and the loss sum and correct count after them.
     * Dropout masks come from this engine's own generator (CPU) seeded per share, so ranks that share a JVM do not race
     * on libtorch's global generator; on CUDA the global CUDA generator is reseeded (one rank per GPU and process).
     */
    @Override
    protected Local accumulateGradients(List<Batch> shares, long step, int rank, int ranks) {
        allocateExchange();
        int images = 0;
        double lossSum = 0, correct = 0;
        int classes = config.wrn().classes();
        try (PointerScope scope = new PointerScope()) {
            try (NoGradGuard noGrad = new NoGradGuard()) {
                copyStats(startStats, true);
                exchangeBuffer.zero_();
            }
            Tensor statSum = exchangeBuffer.narrow(0, gradientLength, statsLength);
            for (int i = 0; i < shares.size(); i++) {
                Batch b = shares.get(i);
                int n = b.size();
                if (n == 0) continue;
                long seed = shareDropoutSeed(config.seed(), step, rank + i * ranks);
                if (deviceType == DeviceType.CPU) {
                    shareGenerator.set_current_seed(seed);
                } else {
                    torch.manual_seed(seed);
                }
                try (NoGradGuard noGrad = new NoGradGuard()) {
                    copyStats(startStats, false); // every share starts from the step's statistics
                }
                Tensor out;
                try (Autocast ac = new Autocast()) {
                    out = forward(input(b), true).to(ScalarType.Float);
                }
                Tensor loss = torch.nll_loss(torch.log_softmax(out, 1), labels(b));
                loss.mul(new Scalar((double) n)).backward();
                double l = loss.item_double();
                float[] logits = new float[n * classes];
                copyOut(out.detach(), logits);
                lossSum += l * n;
                correct += Math.round(accuracy(logits, b.labels(), classes) * n);
                images += n;
                try (NoGradGuard noGrad = new NoGradGuard()) {
                    long off = 0;
                    for (Slot s : bnStats) {
                        long len = s.entry().length();
                        statSum.narrow(0, off, len).add_(s.tensor().reshape(-1), new Scalar((double) n));
                        off += len;
                    }
                }
            }
            try (NoGradGuard noGrad = new NoGradGuard()) {
                long off = 0;
                for (Slot s : trainable) {
                    long len = s.entry().length();
                    Tensor g = s.tensor().grad();
                    if (g.defined()) exchangeBuffer.narrow(0, off, len).copy_(g.reshape(-1));
                    s.tensor().mutable_grad().reset();
                    off += len;
                }
                copyStats(startStats, false); // until the exchange decides: the step's starting statistics
            }
        }
        return new Local(images, lossSum, correct);
    }

    /**
     * Phase 2: one small all-reduce gathers every rank's image count and signals (each rank writes its own column of a
     * zero {@code int64} table, so the sum is a gather); when any rank had images, one all-reduce sums the exchange
     * buffer (gradients, statistics, loss sum, correct count). A group of one skips the communication.
     */
    @Override
    protected Exchanged exchange(Local local, long[] signals, ProcessGroup group) {
        int ranks = group.size(), rank = group.rank();
        int fields = 1 + signals.length;
        long[] table = new long[fields * ranks];
        table[rank] = local.images();
        for (int f = 0; f < signals.length; f++) table[(1 + f) * ranks + rank] = signals[f];
        try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
            long last = gradientLength + statsLength;
            exchangeBuffer.narrow(0, last, 1).fill_(new Scalar(local.lossSum()));
            exchangeBuffer.narrow(0, last + 1, 1).fill_(new Scalar(local.correct()));
            if (ranks > 1) {
                C10dGroup c10d = c10d(group);
                Tensor t = torch.empty(table.length).to(ScalarType.Long);
                t.data_ptr_long().put(table);
                Tensor onDevice = c10d.cuda() ? t.to(device, ScalarType.Long) : t;
                c10d.allreduceSum(onDevice);
                onDevice.cpu().contiguous().data_ptr_long().get(table);
            }
            int[] imagesByRank = new int[ranks];
            int images = 0;
            for (int r = 0; r < ranks; r++) {
                imagesByRank[r] = Math.toIntExact(table[r]);
                images += imagesByRank[r];
            }
            long[][] gathered = new long[ranks][signals.length];
            for (int r = 0; r < ranks; r++) for (int f = 0; f < signals.length; f++) gathered[r][f] = table[(1 + f) * ranks + r];
            if (images == 0) return new Exchanged(0, 0, 0, true, imagesByRank, gathered);
            if (ranks > 1) c10d(group).allreduceSum(exchangeBuffer);
            float[] tail = new float[2];
            copyOut(exchangeBuffer.narrow(0, last, 2), tail);
            boolean finite = Double.isFinite(tail[0]) && Double.isFinite(exchangeBuffer.narrow(0, 0, gradientLength).sum().item_double());
            return new Exchanged(images, tail[0], tail[1], finite, imagesByRank, gathered);
        }
    }

    /**
     * Phase 3: gradients and statistics divided by the step's image count; the update from those gradients; the
     * BatchNorm statistics set to their image-weighted mean (or kept at the step's start when the step is not finite).
     */
    @Override
    protected void applyAveraged(Exchanged x, double lr) {
        try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
            Scalar n = new Scalar((double) x.images());
            if (x.finite()) {
                exchangeBuffer.narrow(0, 0, gradientLength + statsLength).div_(n);
                List<Tensor> grads = new ArrayList<>(trainable.size());
                long off = 0;
                for (Slot s : trainable) {
                    long len = s.entry().length();
                    grads.add(exchangeBuffer.narrow(0, off, len).view(s.entry().shape()));
                    off += len;
                }
                update(lr, grads);
                copyStats(exchangeBuffer.narrow(0, gradientLength, statsLength), false);
            } else {
                copyStats(startStats, false);
            }
        }
    }

    private static C10dGroup c10d(ProcessGroup group) {
        if (group instanceof C10dGroup c) return c;
        throw new IllegalArgumentException("The libtorch engine exchanges gradients over a group it opened (TorchEngineProvider.openGroup), not "
                + group);
    }

    /** Copies the BatchNorm statistics into {@code flat} ({@code toFlat}) or from it, in layout order. */
    private void copyStats(Tensor flat, boolean toFlat) {
        long off = 0;
        for (Slot s : bnStats) {
            long len = s.entry().length();
            Tensor part = flat.narrow(0, off, len);
            if (toFlat) {
                part.copy_(s.tensor().reshape(-1));
            } else {
                s.tensor().copy_(part.view(s.entry().shape()));
            }
            off += len;
        }
    }

    /** Allocates the data-parallel buffers once, outside any pointer scope (they live as long as the engine). */
    private void allocateExchange() {
        if (exchangeBuffer != null) return;
        gradientLength = 0;
        for (Slot s : trainable) gradientLength += s.entry().length();
        statsLength = 0;
        for (Slot s : bnStats) statsLength += s.entry().length();
        try (NoGradGuard noGrad = new NoGradGuard()) {
            exchangeBuffer = toDevice(new float[Math.toIntExact(gradientLength + statsLength + 2)], new long[] {gradientLength + statsLength + 2}, false);
            startStats = toDevice(new float[Math.toIntExact(statsLength)], new long[] {statsLength}, false);
        }
        if (deviceType == DeviceType.CPU) shareGenerator = torch.make_generator_cpu(config.seed());
    }

    /** The complete training state in the canonical layout (see {@link ParamLayout}). */
    @Override
    protected EngineState exportState() {
        float[] params = new float[Math.toIntExact(layout.length())];
        boolean momentum = config.optim().momentum() > 0;
        float[] updater = new float[momentum ? Math.toIntExact(layout.trainableLength()) : 0];
        try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
            for (Slot s : slots) {
                ParamLayout.Entry e = s.entry();
                float[] values = new float[(int) e.length()];
                copyOut(s.tensor(), values);
                System.arraycopy(values, 0, params, (int) e.offset(), values.length);
                if (momentum && e.kind().trainable()) {
                    copyOut(s.momentum(), values);
                    System.arraycopy(values, 0, updater, (int) e.updaterOffset(), values.length);
                }
            }
        }
        return state(params, updater, EngineState.Forms.TORCH);
    }

    /** Whether this engine computes on a CUDA device. */
    public boolean onGpu() {
        return deviceType == DeviceType.CUDA;
    }

    @Override
    protected void release() {
        for (Slot s : slots) {
            s.tensor().close();
            if (s.momentum() != null) s.momentum().close();
        }
        noBias.close();
        denseB.close();
        if (exchangeBuffer != null) {
            exchangeBuffer.close();
            startStats.close();
        }
    }

    // ---------------------------------------------------------------------------------------------------------------

    private Tensor forward(Tensor x, boolean train) {
        // stem: C x H x W -> 16 x H x W
        Tensor h = conv(x, stem, 1, 1);
        // g1: 16k x H x W; g2: 32k x H/2 x W/2; g3: 64k x H/4 x W/4
        for (List<Block> group : groups) {
            h = group(h, group, train);
        }
        // head: BN-ReLU, global average pooling, classifier
        h = torch.relu_(bn(h, head, train));
        Tensor pooled = torch.mean(h, 2, 3);
        return torch.linear(pooled, denseW, denseB);
    }

    /** One group of blocks; the first changes width and applies the group's stride. */
    private Tensor group(Tensor h, List<Block> blocks, boolean train) {
        for (Block b : blocks) {
            h = block(h, b, train);
        }
        return h;
    }

    /** One pre-activation block: BN-ReLU-conv3x3-BN-ReLU-[dropout]-conv3x3 plus the identity or a 1x1 projection. */
    private Tensor block(Tensor h, Block b, boolean train) {
        double p = config.wrn().dropout();
        Tensor act1 = torch.relu_(bn(h, b.bn1(), train));
        Tensor y = conv(act1, b.conv1(), b.stride(), 1);
        y = torch.relu_(bn(y, b.bn2(), train));
        if (p > 0 && train) y = shareGenerator == null ? torch.dropout(y, p, true) : dropout(y, p, shareGenerator);
        y = conv(y, b.conv2(), 1, 1);
        Tensor shortcut = b.shortcut() == null ? h : conv(act1, b.shortcut(), b.stride(), 0);
        return y.add(shortcut);
    }

    /** Inverted dropout with masks from {@code g} (what {@code torch.dropout} does with the global generator). */
    private static Tensor dropout(Tensor y, double p, Generator g) {
        Tensor keep = torch.empty_like(y).bernoulli_(1 - p, new GeneratorOptional(g)).div_(new Scalar(1 - p));
        return y.mul(keep);
    }

    private Tensor conv(Tensor x, Tensor w, long stride, long pad) {
        return torch.conv2d(x, w, noBias, new long[] {stride, stride}, new long[] {pad, pad}, new long[] {1, 1}, 1);
    }

    private static Tensor bn(Tensor x, Bn bn, boolean train) {
        return torch.batch_norm(x, bn.gamma(), bn.beta(), bn.mean(), bn.var(), train, BN_MOMENTUM, BN_EPS, true);
    }

    /** {@code g += wd*p}, {@code b = mu*b + g}, {@code p -= lr*(g + mu*b)} (Nesterov) or {@code p -= lr*g}. */
    private void update(double lr) {
        List<Tensor> grads = new ArrayList<>(trainable.size());
        for (Slot s : trainable) grads.add(s.tensor().grad());
        update(lr, grads);
    }

    /** The update with {@code grads[i]} the gradient of {@code trainable[i]} (undefined: no update of that tensor). */
    private void update(double lr, List<Tensor> grads) {
        OptimConfig o = config.optim();
        Scalar wd = new Scalar(o.weightDecay()), mu = new Scalar(o.momentum()), negLr = new Scalar(-lr);
        for (int i = 0; i < trainable.size(); i++) {
            Slot s = trainable.get(i);
            Tensor p = s.tensor();
            Tensor g = grads.get(i);
            if (!g.defined()) continue;
            if (o.weightDecay() > 0 && s.entry().kind().decayed(o.decayBatchNorm())) g.add_(p, wd);
            if (s.momentum() != null) {
                s.momentum().mul_(mu).add_(g);
                g.add_(s.momentum(), mu);
            }
            p.add_(g, negLr);
        }
    }

    private boolean gradientsFinite() {
        Tensor total = null;
        for (Slot s : slots) {
            if (!s.entry().kind().trainable()) continue;
            Tensor g = s.tensor().grad();
            if (!g.defined()) continue;
            Tensor sum = g.sum();
            total = total == null ? sum : total.add(sum);
        }
        return total == null || Double.isFinite(total.item_double());
    }

    @Override
    protected float[][] probabilities(Batch b) {
        int n = b.size(), classes = config.wrn().classes();
        float[] flat = new float[n * classes];
        try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
            Tensor out;
            try (Autocast ac = new Autocast()) {
                out = forward(input(b), false).to(ScalarType.Float);
            }
            copyOut(out.softmax(1), flat);
        }
        float[][] p = new float[n][classes];
        for (int i = 0; i < n; i++) System.arraycopy(flat, i * classes, p[i], 0, classes);
        return p;
    }

    private Tensor input(Batch b) {
        return toDevice(b.x(), new long[] {b.size(), b.channels(), b.height(), b.width()}, true);
    }

    private Tensor labels(Batch b) {
        int[] labels = b.labels();
        float[] f = new float[labels.length];
        for (int i = 0; i < f.length; i++) f[i] = labels[i];
        Tensor t = torch.empty(f.length);
        t.data_ptr_float().put(f);
        return t.to(device, ScalarType.Long);
    }

    /** A float tensor on the device holding {@code values}; channels-last when asked and enabled. */
    private Tensor toDevice(float[] values, long[] shape, boolean image) {
        Tensor t = torch.empty(shape);
        t.data_ptr_float().put(values);
        if (deviceType != DeviceType.CPU) t = t.to(device, ScalarType.Float);
        if (image && channelsLast) t = t.contiguous(MemoryFormat.ChannelsLast);
        return t;
    }

    /** Copies a float tensor (any device, any memory format) into {@code out}, row-major. */
    private static void copyOut(Tensor t, float[] out) {
        Tensor c = t.detach().cpu().contiguous();
        if (c.numel() != out.length) {
            throw new IllegalStateException("Tensor of " + c.numel() + " values, expected " + out.length);
        }
        c.data_ptr_float().get(out);
    }

    private static float[] slice(float[] a, long offset, long length) {
        float[] s = new float[Math.toIntExact(length)];
        System.arraycopy(a, (int) offset, s, 0, s.length);
        return s;
    }

    private static Bn bn(Map<String, Tensor> byName, String layer) {
        return new Bn(new TensorOptional(byName.get(layer + "_gamma")), new TensorOptional(byName.get(layer + "_beta")),
                new TensorOptional(byName.get(layer + "_mean")), new TensorOptional(byName.get(layer + "_log10stdev")));
    }

    /** bf16 autocast on this thread for the engine's device while open; nothing for fp32. */
    private final class Autocast implements AutoCloseable {
        private final boolean on = bf16;

        Autocast() {
            if (on) {
                torch.set_autocast_dtype(deviceType, ScalarType.BFloat16);
                torch.set_autocast_enabled(deviceType, true);
                torch.increment_nesting();
            }
        }

        @Override
        public void close() {
            if (on) {
                // As PyTorch's autocast context does on exit: drop the cached bf16 weight copies.
                if (torch.decrement_nesting() == 0) torch.clear_cache();
                torch.set_autocast_enabled(deviceType, false);
            }
        }
    }
}
