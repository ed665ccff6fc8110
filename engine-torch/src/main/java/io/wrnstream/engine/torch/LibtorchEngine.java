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
import org.bytedeco.pytorch.Dispatcher;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.GenericList;
import org.bytedeco.pytorch.IValue;
import org.bytedeco.pytorch.IValueVector;
import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.OperatorHandle;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.TensorType;
import org.bytedeco.pytorch.Type;
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
 * and the momentum into a third (weight-decayed entries first in each), so that the optimiser and the finite check
 * are a handful of ops over whole buffers however many tensors the network has (a WRN-40-1 has 115; per-tensor
 * updates cost about 5 ops and 5 JNI calls each, a finite check 3 more). Autograd accumulates into the preset
 * gradient views, which one op zeroes before each step. The gradient buffer is the head of the data-parallel
 * exchange buffer {@code [gradients | BatchNorm statistics | loss sum, correct]}, so a group step all-reduces it
 * without copying. The BatchNorm running statistics are views into one more flat buffer, saved and restored around
 * a step by one copy each. The input and label tensors are allocated once per batch size and refilled.
 *
 * <p><b>One step.</b> Forward (under autocast for bf16), mean cross-entropy, backward, then over the flat buffers
 * without autograd: {@code g += wd*p} (BatchNorm only with {@code decayBatchNorm}), {@code b = mu*b + g},
 * {@code p -= lr*(g + mu*b)}: PyTorch's {@code SGD(nesterov=True, dampening=0)}, by default in one pass of libtorch's
 * fused SGD kernel per weight-decay group (see {@code update}), else element for element the arithmetic of PyTorch's
 * per-tensor loop. The rate is {@code OptimConfig.learningRateAt(imagesSeen)}. A non-finite loss
 * or gradient (one sum over the gradient buffer) skips the update and restores the running statistics (counters
 * still advance). Every step runs inside a {@link PointerScope} so its native temporaries are freed at once
 * (without it, native memory grew by about 370 MB per step). Dropout masks come from libtorch's generator reseeded
 * from (seed, step) before each step, so a restored engine repeats them.
 *
 * <p><b>Precision.</b> {@code fp32}, or {@code bf16}: autocast (per thread) runs convolutions and the classifier in
 * bfloat16 while the parameters, their gradients and the momentum stay fp32 (master weights). In both, activations
 * and weights are kept channels-last ({@value #CHANNELS_LAST_PROPERTY}), which lets oneDNN use its blocked kernels
 * without a reorder per convolution (bf16: AMX or AVX-512-BF16 where the CPU has them; elsewhere it runs, slower).
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
    /**
     * System property: channels-last memory format on or off; default on (oneDNN's blocked kernels without a reorder
     * per convolution: measured 25-30% faster than row-major in fp32 on WRN-40-1, and what bf16 needs).
     */
    static final String CHANNELS_LAST_PROPERTY = "wrn.torch.channels-last";

    private final ParamLayout layout;
    private final Device device;
    private final DeviceType deviceType;
    private final boolean bf16;
    private final boolean channelsLast;
    private final boolean normalizeOnDevice;
    /** libtorch's one-pass SGD ({@code aten::_fused_sgd_}) when {@value #FUSED_SGD_PROPERTY} and momentum; else null. */
    private final OperatorHandle fusedSgd;
    private final List<Slot> slots = new ArrayList<>();
    /** Trainable parameters and their momentum, flat, weight-decayed entries first ({@code decayedParams}). */
    private final Tensor flatParams, flatMomentum, decayedParams;
    /**
     * Data-parallel exchange buffer: {@code [gradients (flatGrads) | BatchNorm statistics (statSum) | loss sum,
     * correct]}; a single-engine step uses its gradient part only.
     */
    private final Tensor exchangeBuffer, flatGrads, decayedGrads, statSum;
    /** BatchNorm running means and variances, flat in layout order, and their copy at the start of the current step. */
    private final Tensor flatStats, startStats;
    private final long gradientLength, statsLength;
    /** Input and label tensors reused while the batch size stays (host copies first when the device is not the CPU). */
    private Tensor hostInput, deviceInput, hostLabels, deviceLabels;
    private final Tensor stem;
    /** The three groups of blocks, as {@link Topology} lists them. */
    private final List<List<Block>> groups = new ArrayList<>();
    private final Bn head;
    private final Tensor denseW;
    private final TensorOptional denseB;
    private final TensorOptional noBias = new TensorOptional();
    /** This engine's own dropout generator for group steps (CPU): ranks in one JVM must not share libtorch's global one. */
    private Generator shareGenerator;

    /** One array of the layout and the tensor (a view into a flat buffer) that holds it, plus its momentum view when trainable. */
    private record Slot(ParamLayout.Entry entry, Tensor tensor, Tensor momentum) {}

    private record Bn(TensorOptional gamma, TensorOptional beta, TensorOptional mean, TensorOptional var) {}

    private record Block(Bn bn1, Tensor conv1, Bn bn2, Tensor conv2, Tensor shortcut, long stride) {}

    /**
     * Where a new engine's values come from, one layout entry at a time, so that no full copy of the model lives on the
     * Java heap while the native buffers are filled (for WRN-28-10 two such copies were 292 MB).
     */
    private interface Init {
        /** Calls {@code sink} with every entry's values, in layout order. */
        void params(java.util.function.BiConsumer<ParamLayout.Entry, float[]> sink);

        /** The momentum of a trainable entry, or null for zeros. */
        float[] momentum(ParamLayout.Entry e);
    }

    /** Values from a snapshot's flat arrays (checked against the layout). */
    private static Init fromArrays(ParamLayout layout, TrainConfig config, float[] params, float[] updater) {
        layout.checkSnapshot(config, params, updater);
        return new Init() {
            @Override
            public void params(java.util.function.BiConsumer<ParamLayout.Entry, float[]> sink) {
                for (ParamLayout.Entry e : layout.entries()) sink.accept(e, slice(params, e.offset(), e.length()));
            }

            @Override
            public float[] momentum(ParamLayout.Entry e) {
                return updater.length == 0 ? null : slice(updater, e.updaterOffset(), e.length());
            }
        };
    }

    /**
     * Fresh values drawn from {@code seed} ({@link ParamLayout#initialValues}) in this engine's forms: the running
     * variance 1 (the canonical {@code log10(std)} 0), momentum zero.
     */
    private static Init fresh(ParamLayout layout, long seed) {
        return new Init() {
            @Override
            public void params(java.util.function.BiConsumer<ParamLayout.Entry, float[]> sink) {
                layout.initialValues(seed, (e, values) -> {
                    if (e.kind() == ParamLayout.Kind.BN_LOG10_STD) java.util.Arrays.fill(values, 1f);
                    sink.accept(e, values);
                });
            }

            @Override
            public float[] momentum(ParamLayout.Entry e) {
                return null;
            }
        };
    }

    private LibtorchEngine(TrainConfig config, EngineOptions options, Init init, long step, long imagesSeen) {
        super(config, step, imagesSeen, TorchEngineProvider.NAME);
        this.layout = ParamLayout.of(config.wrn());
        this.bf16 = "bf16".equals(config.precision());
        this.channelsLast = Boolean.parseBoolean(System.getProperty(CHANNELS_LAST_PROPERTY, "true"));
        String spec = options.device();
        boolean cuda = spec.startsWith("cuda") || (spec.equals("auto") && torch.cuda_is_available());
        if (cuda && !torch.cuda_is_available()) {
            throw new IllegalStateException("device=" + spec
                    + " but no CUDA device is usable (the GPU natives come with mvn -Ptorch-gpu)");
        }
        this.deviceType = cuda ? DeviceType.CUDA : DeviceType.CPU;
        this.normalizeOnDevice = Boolean.parseBoolean(System.getProperty(NORMALIZE_ON_DEVICE_PROPERTY, Boolean.toString(cuda)));
        this.fusedSgd = config.optim().momentum() > 0 && Boolean.parseBoolean(System.getProperty(FUSED_SGD_PROPERTY, "true"))
                ? Dispatcher.singleton().findSchemaOrThrow("aten::_fused_sgd_", "") : null;
        this.device = cuda ? new Device(DeviceType.CUDA, (byte) (spec.contains(":") ? Integer.parseInt(spec.substring(5)) : 0))
                : new Device(DeviceType.CPU);

        long updLength = config.optim().momentum() > 0 ? layout.trainableLength() : 0;
        // Offsets in the flat trainable buffers: weight-decayed entries first, so that decay is one op on a prefix.
        boolean decayBn = config.optim().decayBatchNorm();
        Map<String, Long> flatOffset = new HashMap<>();
        long decayed = 0;
        for (ParamLayout.Entry e : layout.entries()) {
            if (e.kind().trainable() && e.kind().decayed(decayBn)) {
                flatOffset.put(e.name(), decayed);
                decayed += e.length();
            }
        }
        long next = decayed, stats = 0;
        for (ParamLayout.Entry e : layout.entries()) {
            if (e.kind().trainable() && !e.kind().decayed(decayBn)) {
                flatOffset.put(e.name(), next);
                next += e.length();
            } else if (!e.kind().trainable()) {
                stats += e.length();
            }
        }
        this.gradientLength = layout.trainableLength();
        this.statsLength = stats;
        Map<String, Tensor> byName = new HashMap<>();
        try (NoGradGuard noGrad = new NoGradGuard()) {
            this.flatParams = deviceZeros(gradientLength);
            this.flatMomentum = updLength > 0 ? deviceZeros(gradientLength) : null;
            this.exchangeBuffer = deviceZeros(gradientLength + statsLength + 2);
            this.flatGrads = exchangeBuffer.narrow(0, 0, gradientLength);
            this.statSum = exchangeBuffer.narrow(0, gradientLength, statsLength);
            this.decayedParams = flatParams.narrow(0, 0, decayed);
            this.decayedGrads = flatGrads.narrow(0, 0, decayed);
            this.flatStats = deviceZeros(statsLength);
            this.startStats = deviceZeros(statsLength);
            long[] statOffset = {0};
            init.params((e, values) -> {
                Tensor t;
                Tensor m = null;
                if (e.kind().trainable()) {
                    long at = flatOffset.get(e.name());
                    t = view(flatParams, at, e.shape());
                    fill(t, values, e.shape());
                    t.requires_grad_(true);
                    // backward accumulates into this view of the flat gradient buffer (AccumulateGrad adds in place)
                    t.mutable_grad().put(view(flatGrads, at, e.shape()));
                    if (flatMomentum != null) {
                        m = view(flatMomentum, at, e.shape());
                        float[] momentum = init.momentum(e);
                        if (momentum != null) fill(m, momentum, e.shape()); // else it stays zero
                    }
                } else {
                    t = view(flatStats, statOffset[0], e.shape());
                    fill(t, values, e.shape());
                    statOffset[0] += e.length();
                }
                slots.add(new Slot(e, t, m));
                byName.put(e.name(), t);
            });
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
        LibtorchEngine e = new LibtorchEngine(config, options, fresh(ParamLayout.of(config.wrn()), config.seed()), 0, 0);
        LOG.info("Created libtorch engine for {} ({} trainable parameters) on {} in {}{}: {}", config.wrn().name(),
                e.layout.trainableLength(), e.deviceType, config.precision(), e.channelsLast ? " channels-last" : "", config);
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
        ParamLayout layout = ParamLayout.of(s.config().wrn());
        return new LibtorchEngine(s.config(), options, fromArrays(layout, s.config(), s.params(), s.updater()), s.step(), s.imagesSeen());
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
        ensureBuffers(batch.size());
        try (PointerScope scope = new PointerScope()) {
            return stepOn(input(batch), batch.labels(), lr, dropoutSeed);
        }
    }

    /**
     * A step on uint8 pixels: with {@value #NORMALIZE_ON_DEVICE_PROPERTY} (default: on a GPU) the bytes go to the
     * device, from pinned host memory without waiting on CUDA, a quarter of the floats' size, and are normalised there
     * by looking each byte up in the per-channel table of {@code Normalization.table()}: value for value the CPU path.
     */
    @Override
    protected Outcome computeStep(io.wrnstream.model.engine.PixelBatch batch, double lr, long dropoutSeed) {
        if (!normalizeOnDevice) return super.computeStep(batch, lr, dropoutSeed);
        ensureBuffers(batch.size());
        ensurePixelBuffers(batch);
        try (PointerScope scope = new PointerScope()) {
            return stepOn(normalizedInput(batch), batch.labels(), lr, dropoutSeed);
        }
    }

    /** Forward, loss, backward and update on the input {@code x} (on the device) of {@code labels}; inside a scope. */
    private Outcome stepOn(Tensor x, int[] labelValues, double lr, long dropoutSeed) {
        int n = labelValues.length, classes = config.wrn().classes();
        float[] logits = new float[n * classes];
        boolean finite;
        torch.manual_seed(dropoutSeed);
        Tensor y = labels(labelValues);
        try (NoGradGuard noGrad = new NoGradGuard()) {
            // batch_norm(training) updates the running statistics in the forward pass, before the finite check below
            startStats.copy_(flatStats);
            flatGrads.zero_();
        }
        Tensor out;
        try (Autocast ac = new Autocast()) {
            out = forward(x, true).to(ScalarType.Float);
        }
        Tensor lossTensor = torch.nll_loss(torch.log_softmax(out, 1), y);
        lossTensor.backward();
        double loss = lossTensor.item_double();
        copyOut(out.detach(), logits);
        try (NoGradGuard noGrad = new NoGradGuard()) {
            finite = Double.isFinite(loss) && gradientsFinite();
            if (finite) {
                update(lr);
            } else {
                flatStats.copy_(startStats); // the skipped step must not leave its batch in the running statistics
            }
        }
        return new Outcome(loss, accuracy(logits, labelValues, classes), finite);
    }

    /** System property: normalise uint8 batches on the engine's device (true, false; default true on a GPU only). */
    static final String NORMALIZE_ON_DEVICE_PROPERTY = "wrn.torch.normalize-on-device";

    /** The host bytes of the current batch size (pinned on CUDA), and the lookup table of the normalisation in use. */
    private Tensor hostBytes, normTable, channelOffsets;
    private io.wrnstream.model.augment.Normalization tableOf;

    /** (Re)allocates the byte buffer and the table; outside any {@link PointerScope}, like {@link #ensureBuffers}. */
    private void ensurePixelBuffers(io.wrnstream.model.engine.PixelBatch b) {
        if (hostBytes == null || hostBytes.size(0) != b.size()) {
            if (hostBytes != null) hostBytes.close();
            TensorOptions bytes = new TensorOptions(ScalarType.Byte);
            if (deviceType == DeviceType.CUDA) bytes = bytes.pinned_memory(new org.bytedeco.pytorch.BoolOptional(true));
            hostBytes = torch.empty(new long[] {b.size(), b.channels(), b.height(), b.width()}, bytes, new MemoryFormatOptional());
        }
        if (!b.normalization().equals(tableOf)) {
            if (normTable != null) normTable.close();
            if (channelOffsets != null) channelOffsets.close();
            float[][] t = b.normalization().table();
            float[] flat = new float[t.length * 256];
            long[] offsets = new long[t.length];
            for (int c = 0; c < t.length; c++) {
                System.arraycopy(t[c], 0, flat, c * 256, 256);
                offsets[c] = 256L * c;
            }
            normTable = toDevice(flat, new long[] {flat.length}, false);
            Tensor o = torch.empty(new long[] {1, t.length, 1, 1}, new TensorOptions(ScalarType.Long), new MemoryFormatOptional());
            o.data_ptr_long().put(offsets);
            if (deviceType == DeviceType.CPU) {
                channelOffsets = o;
            } else {
                channelOffsets = o.to(device, ScalarType.Long);
                o.close();
            }
            tableOf = b.normalization();
        }
    }

    /** The batch's bytes on the device, normalised there (freed with the step's scope). */
    private Tensor normalizedInput(io.wrnstream.model.engine.PixelBatch b) {
        hostBytes.data_ptr_byte().put(b.pixels());
        Tensor bytes = deviceType == DeviceType.CPU ? hostBytes
                : hostBytes.to(device, ScalarType.Byte, true, false, new MemoryFormatOptional()); // non-blocking from pinned memory
        Tensor index = bytes.to(ScalarType.Long).add_(channelOffsets);
        Tensor x = torch.take(normTable, index);
        return channelsLast ? x.contiguous(MemoryFormat.ChannelsLast) : x;
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
        if (deviceType == DeviceType.CPU && shareGenerator == null) shareGenerator = torch.make_generator_cpu(config.seed());
        for (Batch b : shares) {
            if (b.size() > 0) {
                ensureBuffers(b.size()); // shares of other sizes get tensors of their own
                break;
            }
        }
        int images = 0;
        double lossSum = 0, correct = 0;
        int classes = config.wrn().classes();
        try (PointerScope scope = new PointerScope()) {
            try (NoGradGuard noGrad = new NoGradGuard()) {
                startStats.copy_(flatStats);
                exchangeBuffer.zero_(); // the gradients too: backward accumulates into them
            }
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
                    flatStats.copy_(startStats); // every share starts from the step's statistics
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
                    statSum.add_(flatStats, new Scalar((double) n));
                }
            }
            try (NoGradGuard noGrad = new NoGradGuard()) {
                flatStats.copy_(startStats); // until the exchange decides: the step's starting statistics
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
        int ranks = group.size();
        long[] table = signalTable(local.images(), signals, ranks, group.rank());
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
            Gather gathered = gather(table, ranks, signals.length);
            if (gathered.images() == 0) return gathered.nothing();
            if (ranks > 1) c10d(group).allreduceSum(exchangeBuffer);
            float[] tail = new float[2];
            copyOut(exchangeBuffer.narrow(0, last, 2), tail);
            boolean finite = Double.isFinite(tail[0]) && gradientsFinite();
            return gathered.exchanged(tail[0], tail[1], finite);
        }
    }

    /**
     * Phase 3: gradients and statistics divided by the step's image count; the update from those gradients; the
     * BatchNorm statistics set to their image-weighted mean (or kept at the step's start when the step is not finite).
     */
    @Override
    protected void applyAveraged(Exchanged x, double lr) {
        try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
            if (x.finite()) {
                exchangeBuffer.narrow(0, 0, gradientLength + statsLength).div_(new Scalar((double) x.images()));
                update(lr);
                flatStats.copy_(statSum);
            } else {
                flatStats.copy_(startStats);
            }
        }
    }

    private static C10dGroup c10d(ProcessGroup group) {
        if (group instanceof C10dGroup c) return c;
        throw new IllegalArgumentException("The libtorch engine exchanges gradients over a group it opened (TorchEngineProvider.openGroup), not "
                + group);
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

    /**
     * The snapshot bytes written straight from the native tensors, a chunk at a time: the same bytes as
     * {@code exportState().toBytes()} without the full float copies of parameters and momentum on the Java heap.
     */
    @Override
    protected byte[] encodeState() {
        boolean momentum = config.optim().momentum() > 0;
        try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
            return EngineState.encode(config, step(), imagesSeen(), EngineState.Forms.TORCH, layout.length(),
                    momentum ? layout.trainableLength() : 0, (array, out) -> {
                        float[] chunk = new float[1 << 16];
                        long written = 0;
                        for (Slot s : slots) {
                            ParamLayout.Entry e = s.entry();
                            Tensor t = array == 0 ? s.tensor() : s.momentum();
                            if (t == null) continue;
                            out.position(Math.toIntExact(array == 0 ? e.offset() : e.updaterOffset()));
                            Tensor c = t.detach().cpu().contiguous();
                            org.bytedeco.javacpp.FloatPointer values = c.data_ptr_float();
                            for (long i = 0, n = e.length(); i < n; i += chunk.length) {
                                int m = (int) Math.min(chunk.length, n - i);
                                values.position(i).get(chunk, 0, m);
                                out.put(chunk, 0, m);
                            }
                            c.close();
                            written += e.length();
                        }
                        if (written != out.limit()) {
                            throw new IllegalStateException("Snapshot array " + array + ": " + written + " of " + out.limit() + " values written");
                        }
                        out.position(out.limit());
                    });
        }
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
        for (Tensor t : new Tensor[] {decayedParams, decayedGrads, flatGrads, statSum, flatParams, flatMomentum,
                exchangeBuffer, flatStats, startStats}) {
            if (t != null) t.close();
        }
        closeBuffers();
        for (Tensor t : new Tensor[] {hostBytes, normTable, channelOffsets}) {
            if (t != null) t.close();
        }
        noBias.close();
        denseB.close();
    }

    // ---------------------------------------------------------------------------------------------------------------

    /**
     * The network's logits. Each intermediate's Java handle is released as soon as Java is done with it: autograd keeps
     * what backward needs and frees it as backward passes, as PyTorch does; a handle held until the step's scope
     * closes would keep every activation of the forward pass alive through the whole backward pass (for WRN-16-4 at
     * batch 128 in fp32 about 200 MB more at the peak).
     */
    private Tensor forward(Tensor x, boolean train) {
        // stem: C x H x W -> 16 x H x W
        Tensor h = conv(x, stem, 1, 1);
        // g1: 16k x H x W; g2: 32k x H/2 x W/2; g3: 64k x H/4 x W/4; the first block of each changes width and stride
        for (List<Block> group : groups) {
            for (Block b : group) {
                Tensor next = block(h, b, train);
                h.close();
                h = next;
            }
        }
        // head: BN-ReLU, global average pooling, classifier
        Tensor a = torch.relu_(bn(h, head, train));
        h.close();
        Tensor pooled = torch.mean(a, 2, 3);
        a.close();
        return torch.linear(pooled, denseW, denseB);
    }

    /**
     * One pre-activation block: BN-ReLU-conv3x3-BN-ReLU-[dropout]-conv3x3 plus the identity or a 1x1 projection, in a
     * scope of its own that releases the block's intermediate handles; the output is handed to the enclosing scope.
     */
    private Tensor block(Tensor h, Block b, boolean train) {
        PointerScope outer = PointerScope.getInnerScope();
        try (PointerScope inner = new PointerScope()) {
            double p = config.wrn().dropout();
            Tensor act1 = torch.relu_(bn(h, b.bn1(), train));
            Tensor y = conv(act1, b.conv1(), b.stride(), 1);
            y = torch.relu_(bn(y, b.bn2(), train));
            if (p > 0 && train) y = shareGenerator == null ? torch.dropout(y, p, true) : dropout(y, p, shareGenerator);
            y = conv(y, b.conv2(), 1, 1);
            // In place: backward saves neither the conv output nor the sum's operands.
            Tensor out = b.shortcut() == null ? y.add_(h) : y.add_(conv(act1, b.shortcut(), b.stride(), 0));
            if (outer != null) {
                outer.attach(out);
            } else {
                out.retainReference(); // no enclosing scope: the caller owns it
            }
            return out;
        }
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

    /** System property: the optimiser step as libtorch's fused SGD kernel (true, false; default true). */
    static final String FUSED_SGD_PROPERTY = "wrn.torch.fused-sgd";

    /**
     * {@code g += wd*p}, {@code b = mu*b + g}, {@code p -= lr*(g + mu*b)} (Nesterov) or {@code p -= lr*g}, over the
     * flat buffers. With momentum, by default one pass of libtorch's fused SGD kernel per weight-decay group (reads
     * p, g, b; writes p, b; the gradient is left as it was) instead of five ops that pass over the buffers 14 times
     * (WRN-28-10: 10 ms against 28 ms). The same arithmetic but for a few values that differ in the last bits, which
     * later steps spread (tiny test net, three steps: one momentum value of 77,460 with one decay group, near the
     * buffer's end; about 2,900 of the snapshot's 77,940 values with two); within 1e-7 of the ops (tested). Without
     * momentum, or with {@value #FUSED_SGD_PROPERTY}=false, at most five ops for the whole network.
     */
    private void update(double lr) {
        OptimConfig o = config.optim();
        if (fusedSgd != null) {
            long decayed = decayedParams.numel();
            if (decayed > 0) fusedSgd(0, decayed, o.weightDecay(), o.momentum(), lr);
            if (decayed < gradientLength) fusedSgd(decayed, gradientLength - decayed, 0, o.momentum(), lr);
            return;
        }
        if (o.weightDecay() > 0 && decayedGrads.numel() > 0) decayedGrads.add_(decayedParams, new Scalar(o.weightDecay()));
        if (flatMomentum != null) {
            Scalar mu = new Scalar(o.momentum());
            flatMomentum.mul_(mu).add_(flatGrads);
            flatGrads.add_(flatMomentum, mu);
        }
        flatParams.add_(flatGrads, new Scalar(-lr));
    }

    /**
     * {@code aten::_fused_sgd_} (Nesterov, dampening 0, not maximising, momentum already started) over the flat range
     * {@code [from, from + length)}, through the dispatcher: JavaCPP maps no underscore op.
     */
    private void fusedSgd(long from, long length, double weightDecay, double momentum, double lr) {
        IValueVector stack = new IValueVector(tensorList(flatParams.narrow(0, from, length)),
                tensorList(flatGrads.narrow(0, from, length)), tensorList(flatMomentum.narrow(0, from, length)),
                new IValue(weightDecay), new IValue(momentum), new IValue(lr), new IValue(0.0), new IValue(true),
                new IValue(false), new IValue(false), new IValue(), new IValue());
        Dispatcher.singleton().callBoxed(fusedSgd, stack);
    }

    private static IValue tensorList(Tensor t) {
        GenericList list = new GenericList(new Type.TypePtr(TensorType.get()));
        list.push_back(new IValue(t));
        return new IValue(list);
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
        closeBuffers();
        WrnConfig w = config.wrn();
        hostInput = torch.empty(n, w.channels(), w.height(), w.width());
        boolean cpu = deviceType == DeviceType.CPU;
        deviceInput = cpu && !channelsLast ? hostInput
                : torch.empty_like(hostInput, new TensorOptions(device), new MemoryFormatOptional(
                        channelsLast ? MemoryFormat.ChannelsLast : MemoryFormat.Contiguous));
        hostLabels = torch.empty(new long[] {n}, new TensorOptions(ScalarType.Long), new MemoryFormatOptional());
        deviceLabels = cpu ? hostLabels : hostLabels.to(device, ScalarType.Long);
    }

    private void closeBuffers() {
        if (deviceInput != null && deviceInput != hostInput) deviceInput.close();
        if (deviceLabels != null && deviceLabels != hostLabels) deviceLabels.close();
        if (hostInput != null) hostInput.close();
        if (hostLabels != null) hostLabels.close();
    }

    /** The batch's images in the reused input tensor (converted to channels-last by the copy when enabled). */
    private Tensor input(Batch b) {
        if (hostInput.size(0) != b.size()) {
            return toDevice(b.x(), new long[] {b.size(), b.channels(), b.height(), b.width()}, true);  // freed with the scope
        }
        hostInput.data_ptr_float().put(b.x());
        if (deviceInput != hostInput) deviceInput.copy_(hostInput);
        return deviceInput;
    }

    private Tensor labels(Batch b) {
        return labels(b.labels());
    }

    private Tensor labels(int[] labels) {
        long[] l = new long[labels.length];
        for (int i = 0; i < l.length; i++) l[i] = labels[i];
        if (hostLabels.size(0) != l.length) {
            Tensor t = torch.empty(new long[] {l.length}, new TensorOptions(ScalarType.Long), new MemoryFormatOptional());
            t.data_ptr_long().put(l);
            return deviceType == DeviceType.CPU ? t : t.to(device, ScalarType.Long);
        }
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
