package io.wrnstream.engine.worker;

import com.fasterxml.jackson.databind.JsonNode;
import io.wrnstream.model.engine.AbstractEngine;
import io.wrnstream.model.engine.Batch;
import io.wrnstream.model.engine.EngineOptions;
import io.wrnstream.model.engine.EngineState;
import io.wrnstream.model.engine.ParamLayout;
import io.wrnstream.model.engine.ProcessGroup;
import io.wrnstream.model.engine.TrainConfig;
import io.wrnstream.model.optim.OptimConfig;
import io.wrnstream.model.wrn.Topology;
import io.wrnstream.model.wrn.WrnConfig;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code worker} engine: the step runs in a PyTorch worker process on the host's own PyTorch installation (CPU or
 * CUDA; {@code wrn_worker.py}, shipped in this jar), so a GPU machine with the vendor's PyTorch needs no native library
 * in the JVM at all. A step's batch goes to the worker through shared memory, the loss, a finite flag and the logits
 * come back over a Unix domain socket ({@link WorkerProcess}); parameters and momentum cross only at start, restore
 * and snapshot, in the canonical {@link ParamLayout} in PyTorch's forms ({@link EngineState.Forms#TORCH}, converted
 * by {@link EngineState#inForms} like the libtorch engine), so checkpoints, model updates and serving stay
 * engine-neutral.
 *
 * <p>The worker's network is generated from {@link Topology#blocks()}, sent with the layout's entries at start; it
 * has no topology of its own. Its step is the libtorch engine's, written out in the worker: forward (bf16 autocast
 * with fp32 master weights when asked), mean cross-entropy, backward, {@code g += wd*p} (BatchNorm per
 * {@code decayBatchNorm}), {@code b = mu*b + g}, {@code p -= lr*(g + mu*b)} with the rate {@link AbstractEngine} takes
 * from the schedule per step, dropout masks seeded per step from {@link AbstractEngine#dropoutSeed}, a non-finite step
 * skipped (BatchNorm's running statistics restored, as the libtorch engine does). Initial weights are drawn in Java
 * ({@link ParamLayout#initialParams(long)}), so a worker and a libtorch engine start from the same weights.
 *
 * <p><b>Device</b>: {@link EngineOptions#device()}: {@code auto} (CUDA when the worker's PyTorch sees a GPU, else the
 * CPU, saying so in one line), {@code cpu}, {@code cuda} or {@code cuda:N} (refused with the reason when no GPU is
 * visible). <b>Threads</b>: {@link EngineOptions#threads()} (0: PyTorch's default). <b>Python</b>:
 * {@value WorkerProcess#PYTHON_PROPERTY} or {@code WRN_WORKER_PYTHON}, else the first of {@code python3} on the PATH
 * and {@code /usr/bin/python3} that has PyTorch.
 *
 * <p><b>Data-parallel</b> ({@link AbstractEngine#trainStep(List, long[], ProcessGroup)} over a group from
 * {@link WorkerEngineProvider#openGroup}): the three phases run in the worker ({@code accumulate}, {@code exchange},
 * {@code apply} in {@code wrn_worker.py}, the libtorch engine's steps written out in PyTorch), the all-reduces with
 * {@code torch.distributed} (Gloo on the CPU, NCCL on CUDA). At its first step over a group the engine moves into the
 * group's worker process ({@link WorkerGroup}).
 *
 * <p>Not thread-safe; one thread trains it. {@link #close()} ends the worker process.
 */
public final class WorkerEngine extends AbstractEngine {
    private static final Logger LOG = LoggerFactory.getLogger(WorkerEngine.class);
    /** System property: {@code torch.compile} the worker's forward pass (PyTorch 2 only; default off; untried). */
    public static final String COMPILE_PROPERTY = "wrn.worker.compile";
    /** System property: channels-last memory format on or off; default on for bf16, off for fp32 (as libtorch). */
    public static final String CHANNELS_LAST_PROPERTY = "wrn.torch.channels-last";
    /** DL4J's BatchNorm defaults, which every engine keeps: eps 1e-5, decay 0.9 (PyTorch momentum 0.1). */
    static final double BN_EPS = 1e-5, BN_MOMENTUM = 0.1;

    private final ParamLayout layout;
    private final EngineOptions options;
    /** The process the model lives in: the engine's own, or, after the first step over a group, the group's. */
    private WorkerProcess worker;
    private JsonNode info;
    /** The group whose worker this engine trains in, or null while in its own. */
    private WorkerGroup group;
    private double lastComputeSeconds = Double.NaN;

    private WorkerEngine(TrainConfig config, EngineOptions options, float[] params, float[] buffers, long step, long imagesSeen) {
        super(config, step, imagesSeen, WorkerEngineProvider.NAME);
        this.layout = ParamLayout.of(config.wrn());
        layout.checkSnapshot(config, params, buffers);
        this.options = options;
        this.worker = WorkerProcess.start();
        try {
            this.info = worker.call(initHeader(options), List.of(params, buffers), null);
        } catch (RuntimeException e) {
            worker.close();
            throw e;
        }
        if (info.hasNonNull("fallback")) LOG.warn("worker engine: {}", info.get("fallback").asText());
    }

    /** A fresh engine on the device {@code options} names, weights initialised from {@code config.seed()} as libtorch does. */
    public static WorkerEngine create(TrainConfig config, EngineOptions options) {
        ParamLayout layout = ParamLayout.of(config.wrn());
        long updLength = config.optim().momentum() > 0 ? layout.trainableLength() : 0;
        // the worker holds PyTorch's forms: the canonical log10(std) 0 becomes the running variance 1
        float[] params = new EngineState(config, 0, 0, layout.initialParams(config.seed()), new float[0]).inForms(EngineState.Forms.TORCH).params();
        WorkerEngine e = new WorkerEngine(config, options, params, new float[(int) updLength], 0, 0);
        LOG.info("Created worker engine for {} ({} trainable parameters) on {} ({}, PyTorch {}, Python {}) in {}: {}",
                config.wrn().name(), layout.trainableLength(), e.info.path("device").asText(), e.info.path("device_name").asText(),
                e.info.path("torch").asText(), e.info.path("python").asText(), config.precision(), config);
        return e;
    }

    /** A fresh engine with the default options (device auto, PyTorch's default threads). */
    public static WorkerEngine create(TrainConfig config) {
        return create(config, EngineOptions.DEFAULT);
    }

    /** As {@link #restore(EngineState, EngineOptions)} with the default options. */
    public static WorkerEngine restore(EngineState state) {
        return restore(state, EngineOptions.DEFAULT);
    }

    /** An engine that continues where the one that produced {@code state} stopped (any engine's snapshot). */
    public static WorkerEngine restore(EngineState state, EngineOptions options) {
        EngineState s = state.inForms(EngineState.Forms.TORCH);  // running variance and lr-free momentum, as PyTorch holds them
        return new WorkerEngine(s.config(), options, s.params(), s.updater(), s.step(), s.imagesSeen());
    }

    private Map<String, Object> initHeader(EngineOptions options) {
        WrnConfig w = config.wrn();
        OptimConfig o = config.optim();
        Map<String, Object> model = new LinkedHashMap<>();
        model.put("blocks", Topology.of(w).blocks().stream().map(b -> Map.of("name", b.name(), "in", b.in(), "out", b.out(),
                "stride", b.stride(), "projection", b.projection())).toList());
        model.put("classes", w.classes());
        model.put("dropout", w.dropout());
        model.put("channels", w.channels());
        model.put("height", w.height());
        model.put("width", w.width());
        List<Map<String, Object>> entries = new ArrayList<>();
        for (ParamLayout.Entry e : layout.entries()) {
            entries.add(Map.of("name", e.name(), "kind", e.kind().name(), "shape", e.shape(),
                    "trainable", e.kind().trainable(), "decayed", e.kind().decayed(o.decayBatchNorm())));
        }
        boolean bf16 = "bf16".equals(config.precision());
        Map<String, Object> h = new LinkedHashMap<>();
        h.put("op", "init");
        h.put("model", model);
        h.put("entries", entries);
        h.put("momentum", o.momentum());
        h.put("weight_decay", o.weightDecay());
        h.put("bn_eps", BN_EPS);
        h.put("bn_momentum", BN_MOMENTUM);
        h.put("precision", config.precision());
        h.put("channels_last", Boolean.parseBoolean(System.getProperty(CHANNELS_LAST_PROPERTY, Boolean.toString(bf16))));
        h.put("device", options.device());
        h.put("threads", options.threads());
        h.put("compile", Boolean.getBoolean(COMPILE_PROPERTY));
        return h;
    }

    @Override
    protected Outcome computeStep(Batch batch, double lr, long dropoutSeed) {
        int n = batch.size(), classes = config.wrn().classes();
        Map<String, Object> h = new LinkedHashMap<>();
        h.put("op", "step");
        h.put("n", n);
        h.put("lr", lr);
        h.put("seed", Long.toUnsignedString(dropoutSeed));
        float[] logits = new float[n * classes];
        JsonNode r = worker.call(h, List.of(batch.x(), batch.labels()), List.of(logits));
        lastComputeSeconds = r.path("compute_s").asDouble(Double.NaN);
        return new Outcome(r.get("loss").asDouble(), accuracy(logits, batch.labels(), classes), r.get("finite").asBoolean());
    }

    // --- Data-parallel step (see AbstractEngine#trainStep(List, long[], ProcessGroup)) --------------------------------

    /**
     * A group of one ({@link ProcessGroup#SOLO}) needs no peers: the shares accumulate in this engine's worker. At the
     * first step over a worker group the model moves into that group's worker (parameters and momentum once, as at a
     * restore) and this engine's own worker ends.
     */
    @Override
    protected void bindGroup(ProcessGroup g) {
        if (g == group) return;
        if (!(g instanceof WorkerGroup wg)) {
            if (g.size() == 1) return;
            throw new IllegalArgumentException("The worker engine exchanges gradients over a group its provider opened "
                    + "(WorkerEngineProvider.openGroup), not " + g);
        }
        String device = info.path("device").asText();
        WorkerProcess target = wg.adopt(this, device);
        JsonNode moved;
        try {
            EngineState s = exportState();
            moved = target.call(initHeader(options.withDevice(device)), List.of(s.params(), s.updater()), null);
        } catch (RuntimeException e) {
            wg.engineClosed(this);
            throw new IllegalStateException("Moving the worker engine into the worker of " + wg + " failed: " + e.getMessage(), e);
        }
        if (group != null) group.engineClosed(this);
        else worker.close();
        worker = target;
        group = wg;
        info = moved;
        LOG.info("Worker engine ({}) moved into the worker of {}", config.wrn().name(), wg);
    }

    /**
     * Phase 1 in the worker: each share's forward and backward of its summed loss from the step's starting BatchNorm
     * statistics, dropout seeded per share by {@link #shareDropoutSeed}; the logits come back for the accuracy.
     */
    @Override
    protected Local accumulateGradients(List<Batch> shares, long step, int rank, int ranks) {
        int classes = config.wrn().classes();
        int images = 0;
        List<Integer> sizes = new ArrayList<>();
        List<String> seeds = new ArrayList<>();
        List<Object> inputs = new ArrayList<>();
        for (int i = 0; i < shares.size(); i++) {
            Batch b = shares.get(i);
            sizes.add(b.size());
            seeds.add(Long.toUnsignedString(shareDropoutSeed(config.seed(), step, rank + i * ranks)));
            inputs.add(b.x());
            images += b.size();
        }
        for (Batch b : shares) inputs.add(b.labels());
        Map<String, Object> h = new LinkedHashMap<>();
        h.put("op", "accumulate");
        h.put("sizes", sizes);
        h.put("seeds", seeds);
        float[] logits = new float[images * classes];
        JsonNode r = worker.call(h, inputs, List.of(logits));
        lastComputeSeconds = r.path("compute_s").asDouble(Double.NaN);
        double lossSum = 0, correct = 0;
        int off = 0;
        for (int i = 0; i < shares.size(); i++) {
            Batch b = shares.get(i);
            int n = b.size();
            if (n == 0) continue;
            float[] own = java.util.Arrays.copyOfRange(logits, off * classes, (off + n) * classes);
            lossSum += r.get("losses").get(i).asDouble() * n;
            correct += Math.round(accuracy(own, b.labels(), classes) * n);
            off += n;
        }
        return new Local(images, lossSum, correct);
    }

    /**
     * Phase 2 in the worker: one {@code int64} all-reduce gathers image counts and signals (each rank fills its own
     * column of a zero table), then, when any rank had images, one float32 all-reduce sums gradients, BatchNorm
     * statistics, loss sum and correct count. A group of one skips the communication.
     */
    @Override
    protected Exchanged exchange(Local local, long[] signals, ProcessGroup g) {
        int ranks = g.size(), rank = g.rank();
        long[] table = signalTable(local.images(), signals, ranks, rank);
        Map<String, Object> h = new LinkedHashMap<>();
        h.put("op", "exchange");
        h.put("ranks", ranks);
        h.put("loss_sum", local.lossSum());
        h.put("correct", local.correct());
        h.put("table", table);
        JsonNode r;
        try {
            r = worker.call(h, List.of(), null);
        } catch (IllegalStateException e) {
            throw new IllegalStateException("Data-parallel step " + step() + " failed on rank " + rank + " of " + ranks + ": " + e.getMessage(), e);
        }
        JsonNode summed = r.get("table");
        if (summed == null || summed.size() != table.length) {
            throw new IllegalStateException("PyTorch worker replied a table of " + (summed == null ? 0 : summed.size()) + " values to 'exchange', expected " + table.length);
        }
        for (int i = 0; i < table.length; i++) table[i] = summed.get(i).asLong();
        Gather gathered = gather(table, ranks, signals.length);
        if (gathered.images() == 0) return gathered.nothing(); // the worker replies no sums then
        return gathered.exchanged(r.get("loss_sum").asDouble(), r.get("correct").asDouble(), r.get("finite").asBoolean());
    }

    /** Phase 3 in the worker: the sums divided by the step's images, the update when finite, the averaged statistics. */
    @Override
    protected void applyAveraged(Exchanged x, double lr) {
        Map<String, Object> h = new LinkedHashMap<>();
        h.put("op", "apply");
        h.put("lr", lr);
        h.put("images", x.images());
        h.put("finite", x.finite());
        worker.call(h, List.of(), null);
    }

    /** Seconds the worker spent inside the last step (forward, backward, update, copies on its side), for overhead measurements. */
    public double lastStepComputeSeconds() {
        return lastComputeSeconds;
    }

    @Override
    public double lastStepInsideMillis() {
        return lastComputeSeconds * 1000;
    }

    @Override
    public Map<String, Object> runFacts() {
        Map<String, Object> facts = new LinkedHashMap<>();
        facts.put("device", info.path("device").asText() + " (" + info.path("device_name").asText() + ", PyTorch "
                + info.path("torch").asText() + ")");
        long peak = peakDeviceBytes();
        facts.put("peak_device_mb", peak < 0 ? null : Math.round(peak / 1048576.0));
        return facts;
    }

    /** Peak device memory the worker's PyTorch allocated since the last call (CUDA only; -1 on the CPU), then resets it. */
    public long peakDeviceBytes() {
        checkOpen();
        JsonNode r = worker.call(Map.of("op", "memory"), List.of(), null);
        return r.path("peak_bytes").isNumber() ? r.get("peak_bytes").asLong() : -1;
    }

    /** What the worker reported at start: device, device name, PyTorch, CUDA and Python versions, the CPU fallback line. */
    public JsonNode workerInfo() {
        return info.deepCopy();
    }

    /** Whether the worker computes on a CUDA device. */
    public boolean onGpu() {
        return info.path("device").asText().startsWith("cuda");
    }

    @Override
    protected float[][] probabilities(Batch b) {
        int n = b.size(), classes = config.wrn().classes();
        float[] flat = new float[n * classes];
        worker.call(Map.of("op", "predict", "n", n), List.of(b.x()), List.of(flat));
        float[][] p = new float[n][classes];
        for (int i = 0; i < n; i++) System.arraycopy(flat, i * classes, p[i], 0, classes);
        return p;
    }

    @Override
    protected EngineState exportState() {
        float[] params = new float[Math.toIntExact(layout.length())];
        float[] buffers = new float[config.optim().momentum() > 0 ? Math.toIntExact(layout.trainableLength()) : 0];
        worker.call(Map.of("op", "state"), List.of(), List.of(params, buffers));
        return state(params, buffers, EngineState.Forms.TORCH);
    }

    @Override
    public long parameterCount() {
        return layout.trainableLength();
    }

    @Override
    protected void release() {
        if (group != null) group.engineClosed(this);
        else worker.close();
    }
}
