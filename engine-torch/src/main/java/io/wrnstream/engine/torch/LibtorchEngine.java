package io.wrnstream.engine.torch;

import io.wrnstream.model.engine.AbstractEngine;
import io.wrnstream.model.engine.Batch;
import io.wrnstream.model.engine.EngineOptions;
import io.wrnstream.model.engine.EngineState;
import io.wrnstream.model.engine.ParamLayout;
import io.wrnstream.model.engine.TrainConfig;

import io.wrnstream.model.optim.OptimConfig;
import io.wrnstream.model.wrn.Topology;
import io.wrnstream.model.wrn.WrnConfig;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.TensorOptions;
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
 * <p><b>Storage.</b> The trainable tensors are views into one flat fp32 buffer, their gradients views into a second
 * and the momentum into a third (weight-decayed entries first), so that the optimiser and the finite check are a
 * handful of ops over whole buffers however many tensors the network has (a WRN-40-1 has 115; per-tensor updates
 * cost about 5 JNI calls each, a sum per gradient another 2). Autograd accumulates into the preset gradient views,
 * which are zeroed by one op before each backward. Running statistics are tensors of their own. The input and
 * label tensors are allocated once per batch size and refilled.
 *
 * <p><b>One step.</b> Forward (under autocast for bf16), mean cross-entropy, backward, then over the flat buffers
 * without autograd: {@code g += wd*p} (BatchNorm only with {@code decayBatchNorm}), {@code b = mu*b + g},
 * {@code p -= lr*(g + mu*b)}: PyTorch's {@code SGD(nesterov=True, dampening=0)}, element for element the same
 * arithmetic as its per-tensor loop. The rate is {@code OptimConfig.learningRateAt(imagesSeen)}. A non-finite loss or
 * gradient (one sum over the gradient buffer) skips the update (counters still advance). Every step runs inside a
 * {@link PointerScope} so its native temporaries are freed at once (without it, native memory grew by about 370 MB
 * per step). Dropout masks come from libtorch's generator reseeded from (seed, step) before each step, so a
 * restored engine repeats them.
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
    /** Trainable parameters, their gradients and momentum, flat; decayed entries first ({@code decayed*} views). */
    private final Tensor flatParams, flatGrads, flatMomentum;
    private final Tensor decayedParams, decayedGrads;
    /** Input and label tensors reused while the batch size stays (host copies first when the device is not the CPU). */
    private Tensor hostInput, deviceInput, hostLabels, deviceLabels;
    private final Tensor stem;
    private final List<Block> blocks = new ArrayList<>();
    private final Bn head;
    private final Tensor denseW;
    private final TensorOptional denseB;
    private final TensorOptional noBias = new TensorOptional();

    /** One array of the layout and the tensor that holds it (plus its momentum view when trainable). */
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
        boolean decayBn = config.optim().decayBatchNorm();
        Map<String, Long> flatOffset = new HashMap<>();
        long decayed = 0;
        for (ParamLayout.Entry e : layout.entries()) {
            if (e.kind().trainable() && e.kind().decayed(decayBn)) {
                flatOffset.put(e.name(), decayed);
                decayed += e.length();
            }
        }
        long next = decayed;
        for (ParamLayout.Entry e : layout.entries()) {
            if (e.kind().trainable() && !e.kind().decayed(decayBn)) {
                flatOffset.put(e.name(), next);
                next += e.length();
            }
        }
        long trainable = layout.trainableLength();
        try (NoGradGuard noGrad = new NoGradGuard()) {
            this.flatParams = deviceZeros(trainable);
            this.flatGrads = deviceZeros(trainable);
            this.flatMomentum = updLength > 0 ? deviceZeros(trainable) : null;
            this.decayedParams = flatParams.narrow(0, 0, decayed);
            this.decayedGrads = flatGrads.narrow(0, 0, decayed);
            for (ParamLayout.Entry e : layout.entries()) {
                float[] values = slice(params, e.offset(), e.length());
                Tensor t;
                Tensor m = null;
                if (e.kind().trainable()) {
                    long at = flatOffset.get(e.name());
                    t = view(flatParams, at, e.shape());
                    fill(t, values, e.shape());
                    t.requires_grad_(true);
                    // backward accumulates into this view of the flat gradient buffer
                    t.mutable_grad().put(view(flatGrads, at, e.shape()));
                    if (flatMomentum != null) {
                        m = view(flatMomentum, at, e.shape());
                        fill(m, slice(updater, e.updaterOffset(), e.length()), e.shape());
                    }
                } else {
                    t = toDevice(values, e.shape(), e.shape().length == 4);
                }
                slots.add(new Slot(e, t, m));
                byName.put(e.name(), t);
            }
        }
        Topology t = config.wrn().topology();
        this.stem = byName.get(Topology.STEM + "_W");
        for (Topology.Group g : t.groups()) {
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
        float[] p = new float[Math.toIntExact(layout.length())];
        SplittableRandom random = new SplittableRandom(seed);
        for (ParamLayout.Entry e : layout.entries()) {
            int off = (int) e.offset(), n = (int) e.length();
            long[] s = e.shape();
            switch (e.kind()) {
                case CONV_WEIGHT, DENSE_WEIGHT -> {
                    long fanIn = n / s[0];
                    double std = Math.sqrt(2.0 / fanIn);
                    for (int i = 0; i < n; i++) p[off + i] = (float) (random.nextGaussian() * std);
                }
                case BN_GAMMA -> java.util.Arrays.fill(p, off, off + n, 1f);
                case BN_BETA, BN_MEAN, BN_LOG10_STD, DENSE_BIAS -> { /* zeros; log10(std) 0 is variance 1 */ }
            }
        }
        return p;
    }

    @Override
    protected Outcome computeStep(Batch batch, double lr, long dropoutSeed) {
        int n = batch.size(), classes = config.wrn().classes();
        float[] logits = new float[n * classes];
        double loss;
        boolean finite;
        ensureBuffers(n);
        try (PointerScope scope = new PointerScope()) {
            torch.manual_seed(dropoutSeed);
            Tensor x = input(batch);
            Tensor y = labels(batch);
            flatGrads.zero_();
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
                if (finite) update(lr);
            }
        }
        return new Outcome(loss, accuracy(logits, batch.labels(), classes), finite);
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
        for (Tensor t : new Tensor[] {decayedParams, decayedGrads, flatParams, flatGrads, flatMomentum,
                hostInput, deviceInput, hostLabels, deviceLabels}) {
            if (t != null) t.close();
        }
        noBias.close();
        denseB.close();
    }

    // ---------------------------------------------------------------------------------------------------------------

    private Tensor forward(Tensor x, boolean train) {
        Tensor h = conv(x, stem, 1, 1);
        double p = config.wrn().dropout();
        for (Block b : blocks) {
            Tensor act1 = torch.relu_(bn(h, b.bn1(), train));
            Tensor y = conv(act1, b.conv1(), b.stride(), 1);
            y = torch.relu_(bn(y, b.bn2(), train));
            if (p > 0 && train) y = torch.dropout(y, p, true);
            y = conv(y, b.conv2(), 1, 1);
            // In place, and the projection released at once: backward saves neither the conv outputs nor the sum's
            // operands, and a Java handle would keep them alive until the step's PointerScope closes (PyTorch frees
            // them at once).
            if (b.shortcut() == null) {
                h = y.add_(h);
            } else {
                Tensor projection = conv(act1, b.shortcut(), b.stride(), 0);
                h = y.add_(projection);
                projection.close();
            }
        }
        h = torch.relu_(bn(h, head, train));
        Tensor pooled = torch.mean(h, 2, 3);
        return torch.linear(pooled, denseW, denseB);
    }

    private Tensor conv(Tensor x, Tensor w, long stride, long pad) {
        return torch.conv2d(x, w, noBias, new long[] {stride, stride}, new long[] {pad, pad}, new long[] {1, 1}, 1);
    }

    private static Tensor bn(Tensor x, Bn bn, boolean train) {
        return torch.batch_norm(x, bn.gamma(), bn.beta(), bn.mean(), bn.var(), train, BN_MOMENTUM, BN_EPS, true);
    }

    /**
     * {@code g += wd*p}, {@code b = mu*b + g}, {@code p -= lr*(g + mu*b)} (Nesterov) or {@code p -= lr*g}, over the
     * flat buffers: five ops for the whole network.
     */
    private void update(double lr) {
        OptimConfig o = config.optim();
        if (o.weightDecay() > 0 && decayedGrads.numel() > 0) decayedGrads.add_(decayedParams, new Scalar(o.weightDecay()));
        if (flatMomentum != null) {
            Scalar mu = new Scalar(o.momentum());
            flatMomentum.mul_(mu).add_(flatGrads);
            flatGrads.add_(flatMomentum, mu);
        }
        flatParams.add_(flatGrads, new Scalar(-lr));
    }

    /** One sum over every gradient: NaN or infinity anywhere makes it non-finite. */
    private boolean gradientsFinite() {
        return Double.isFinite(flatGrads.sum().item_double());
    }

    @Override
    protected float[][] probabilities(Batch b) {
        int n = b.size(), classes = config.wrn().classes();
        float[] flat = new float[n * classes];
        ensureBuffers(n);
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

    /**
     * (Re)allocates the input and label tensors for batches of {@code n}; called outside any {@link PointerScope},
     * which would free them at its end.
     */
    private void ensureBuffers(int n) {
        if (hostInput != null && hostInput.size(0) == n) return;
        for (Tensor t : new Tensor[] {hostInput, deviceInput, hostLabels, deviceLabels}) {
            if (t != null) t.close();
        }
        WrnConfig w = config.wrn();
        hostInput = torch.empty(n, w.channels(), w.height(), w.width());
        boolean cpu = deviceType == DeviceType.CPU;
        deviceInput = cpu && !channelsLast ? hostInput
                : torch.empty_like(hostInput, new TensorOptions(device), new MemoryFormatOptional(
                        channelsLast ? MemoryFormat.ChannelsLast : MemoryFormat.Contiguous));
        hostLabels = torch.empty(new long[] {n}, new TensorOptions(ScalarType.Long), new MemoryFormatOptional());
        deviceLabels = cpu ? hostLabels : hostLabels.to(device, ScalarType.Long);
    }

    /** The batch's images in the reused input tensor (converted to channels-last by one copy when enabled). */
    private Tensor input(Batch b) {
        hostInput.data_ptr_float().put(b.x());
        if (deviceInput != hostInput) deviceInput.copy_(hostInput);
        return deviceInput;
    }

    private Tensor labels(Batch b) {
        int[] labels = b.labels();
        long[] l = new long[labels.length];
        for (int i = 0; i < l.length; i++) l[i] = labels[i];
        hostLabels.data_ptr_long().put(l);
        if (deviceLabels != hostLabels) deviceLabels.copy_(hostLabels);
        return deviceLabels;
    }

    /** A float tensor of zeros on the device. */
    private Tensor deviceZeros(long length) {
        Tensor t = torch.zeros(length);
        return deviceType == DeviceType.CPU ? t : t.to(device, ScalarType.Float);
    }

    /**
     * The view of {@code length(shape)} floats of {@code flat} from {@code offset}, shaped {@code shape}; a 4-d
     * weight is laid out channels-last when enabled (stored as {@code [out, kh, kw, in]}, seen as
     * {@code [out, in, kh, kw]}), as the convolutions want it.
     */
    private Tensor view(Tensor flat, long offset, long[] shape) {
        long n = 1;
        for (long d : shape) n *= d;
        Tensor v = flat.narrow(0, offset, n);
        if (shape.length == 4 && channelsLast) return v.view(shape[0], shape[2], shape[3], shape[1]).permute(0, 3, 1, 2);
        return v.view(shape);
    }

    /** Copies row-major {@code values} into {@code t} (any strides, any device). */
    private static void fill(Tensor t, float[] values, long[] shape) {
        Tensor host = torch.empty(shape);
        host.data_ptr_float().put(values);
        t.copy_(host);
        host.close();
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
