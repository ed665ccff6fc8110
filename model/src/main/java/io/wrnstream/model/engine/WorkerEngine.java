package io.wrnstream.model.engine;

import com.fasterxml.jackson.databind.JsonNode;
import io.wrnstream.model.eval.EvalResult;
import io.wrnstream.model.optim.OptimConfig;
import io.wrnstream.model.wrn.WrnConfig;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code worker} implementation of {@link TrainingEngine}: the step runs in a PyTorch worker process on the host's
 * own PyTorch installation (CPU or CUDA; {@code wrn_worker.py}, shipped in this jar), so a GPU machine with the
 * vendor's PyTorch needs no native library in the JVM at all. Batches go to the worker and loss and logits come back
 * over a Unix domain socket ({@link WorkerProcess}); parameters and momentum cross only at start, restore and
 * snapshot, in the canonical {@link ParamLayout} (converted by {@link TorchForm}, like the libtorch engine), so
 * checkpoints, model updates and serving stay engine-neutral.
 *
 * <p>The worker's network is generated from {@link WrnConfig#blocks()}, sent with the layout's entries at start;
 * it has no topology of its own. Its step is the libtorch engine's, written out in the worker: forward (bf16 autocast
 * with fp32 master weights when asked), mean cross-entropy, backward, {@code g += wd*p} (BatchNorm per
 * {@code decayBatchNorm}), {@code b = mu*b + g}, {@code p -= lr*(g + mu*b)} with the rate this class takes from the
 * schedule per step, dropout masks seeded per step from (seed, step), a non-finite step skipped. Initial weights are
 * drawn here in Java ({@link LibtorchEngine#initialParams}), so a worker and a libtorch engine start from the same
 * weights.
 *
 * <p><b>Device.</b> {@value TorchNatives#DEVICE_PROPERTY}: {@code auto} (CUDA when the worker's PyTorch sees a GPU,
 * else the CPU, saying so in one line), {@code cpu}, {@code cuda} or {@code cuda:N} (refused with the reason when no
 * GPU is visible). <b>Python.</b> {@value WorkerProcess#PYTHON_PROPERTY} or {@code WRN_WORKER_PYTHON}, else the first
 * of {@code python3} on the PATH and {@code /usr/bin/python3} that has PyTorch. <b>Threads.</b>
 * {@value #THREADS_PROPERTY} (0 or unset: PyTorch's default).
 *
 * <p>Not thread-safe; one thread trains it. {@link #close()} ends the worker process.
 */
public final class WorkerEngine implements TrainingEngine {
    private static final Logger LOG = LoggerFactory.getLogger(WorkerEngine.class);
    /** System property: the worker's intra-op thread count (0: PyTorch's default). */
    public static final String THREADS_PROPERTY = "wrn.worker.threads";
    /** System property: {@code torch.compile} the worker's forward pass (PyTorch 2 only; default off). */
    public static final String COMPILE_PROPERTY = "wrn.worker.compile";

    private final TrainConfig config;
    private final ParamLayout layout;
    private final WorkerProcess worker;
    private final JsonNode info;
    private long step;
    private long imagesSeen;
    private double lastComputeSeconds = Double.NaN;
    private boolean closed;

    private WorkerEngine(TrainConfig config, float[] params, float[] updater, long step, long imagesSeen) {
        if (!"worker".equals(config.engine())) {
            throw new IllegalArgumentException("Config for engine '" + config.engine() + "' given to the worker engine");
        }
        LibtorchEngine.checkOptimiser(config.optim());
        this.config = config;
        this.layout = ParamLayout.of(config.wrn());
        if (params.length != layout.length()) {
            throw new IllegalArgumentException("Snapshot has " + params.length + " parameters, but " + config.wrn().name()
                    + " has " + layout.length());
        }
        boolean momentum = config.optim().momentum() > 0;
        long updLength = momentum ? layout.trainableLength() : 0;
        if (updater.length != updLength) {
            throw new IllegalArgumentException("Snapshot has " + updater.length + " optimiser values, expected " + updLength);
        }
        String device = TorchNatives.deviceSpec();
        this.step = step;
        this.imagesSeen = imagesSeen;

        // PyTorch's forms: running variance instead of log10(std), the lr-free momentum buffer instead of DL4J's velocity
        float[] torchParams = params.clone();
        float[] buffers = updater.clone();
        double rate = TorchForm.momentumRate(config.optim().learningRateAt(imagesSeen));
        for (ParamLayout.Entry e : layout.entries()) {
            if (e.kind() == ParamLayout.Kind.BN_LOG10_STD) {
                float[] v = slice(torchParams, e);
                TorchForm.varianceFromLog10Std(v);
                System.arraycopy(v, 0, torchParams, (int) e.offset(), v.length);
            }
        }
        if (momentum) TorchForm.bufferFromVelocity(buffers, rate);

        this.worker = WorkerProcess.start();
        try {
            this.info = worker.call(initHeader(device), List.of(torchParams, buffers), null);
        } catch (RuntimeException e) {
            worker.close();
            throw e;
        }
        if (!info.path("fallback").isNull() && !info.path("fallback").isMissingNode()) {
            LOG.warn("worker engine: {}", info.get("fallback").asText());
        }
    }

    /** A fresh engine, weights initialised from {@code config.seed()} exactly as the libtorch engine does. */
    public static WorkerEngine create(TrainConfig config) {
        ParamLayout layout = ParamLayout.of(config.wrn());
        long updLength = config.optim().momentum() > 0 ? layout.trainableLength() : 0;
        WorkerEngine e = new WorkerEngine(config, LibtorchEngine.initialParams(layout, config.seed()), new float[(int) updLength], 0, 0);
        LOG.info("Created worker engine for {} ({} trainable parameters) on {} ({}, PyTorch {}, Python {}) in {}: {}",
                config.wrn().name(), layout.trainableLength(), e.info.path("device").asText(), e.info.path("device_name").asText(),
                e.info.path("torch").asText(), e.info.path("python").asText(), config.precision(), config);
        return e;
    }

    /** An engine that continues where the one that produced {@code state} stopped (any engine's snapshot). */
    public static WorkerEngine restore(EngineState state) {
        return new WorkerEngine(state.config(), state.params(), state.updater(), state.step(), state.imagesSeen());
    }

    private Map<String, Object> initHeader(String device) {
        WrnConfig w = config.wrn();
        OptimConfig o = config.optim();
        Map<String, Object> model = new LinkedHashMap<>();
        model.put("blocks", w.blocks().stream().map(b -> Map.of("name", b.name(), "in", b.in(), "out", b.out(),
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
        h.put("bn_eps", LibtorchEngine.BN_EPS);
        h.put("bn_momentum", LibtorchEngine.BN_MOMENTUM);
        h.put("precision", config.precision());
        h.put("channels_last", Boolean.parseBoolean(System.getProperty(LibtorchEngine.CHANNELS_LAST_PROPERTY, Boolean.toString(bf16))));
        h.put("device", device);
        h.put("threads", Integer.getInteger(THREADS_PROPERTY, 0));
        h.put("compile", Boolean.getBoolean(COMPILE_PROPERTY));
        return h;
    }

    @Override
    public TrainConfig config() {
        return config;
    }

    @Override
    public StepResult trainStep(Batch batch) {
        checkOpen();
        checkShape(batch);
        double lr = config.optim().learningRateAt(imagesSeen);
        int n = batch.size(), classes = config.wrn().classes();
        Map<String, Object> h = new LinkedHashMap<>();
        h.put("op", "step");
        h.put("n", n);
        h.put("lr", lr);
        // the libtorch engine's rule: dropout masks depend only on (seed, step)
        h.put("seed", Long.toUnsignedString(config.seed() * 0x9E3779B97F4A7C15L + step));
        float[] logits = new float[n * classes];
        JsonNode r = worker.call(h, List.of(batch.x(), batch.labels()), List.of(logits));
        double loss = r.get("loss").asDouble();
        boolean finite = r.get("finite").asBoolean();
        if (!finite) LOG.warn("Non-finite loss or gradient at step {} (loss {}): update skipped", step, loss);
        lastComputeSeconds = r.path("compute_s").asDouble(Double.NaN);
        int correct = 0;
        float[] row = new float[classes];
        for (int i = 0; i < n; i++) {
            System.arraycopy(logits, i * classes, row, 0, classes);
            if (Evaluations.argmax(row) == batch.labels()[i]) correct++;
        }
        step++;
        imagesSeen += n;
        return new StepResult(step, imagesSeen, loss, (double) correct / n, lr, !finite);
    }

    /** Seconds the worker spent inside the last step (forward, backward, update, copies on its side), for overhead measurements. */
    public double lastStepComputeSeconds() {
        return lastComputeSeconds;
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

    @Override
    public EvalResult evaluate(Iterator<Batch> batches) {
        checkOpen();
        return Evaluations.evaluate(batches, config.wrn().classes(), b -> {
            checkShape(b);
            return probabilities(b);
        });
    }

    @Override
    public float[][] predict(Batch batch) {
        checkOpen();
        checkShape(batch);
        return probabilities(batch);
    }

    private float[][] probabilities(Batch b) {
        int n = b.size(), classes = config.wrn().classes();
        float[] flat = new float[n * classes];
        worker.call(Map.of("op", "predict", "n", n), List.of(b.x()), List.of(flat));
        float[][] p = new float[n][classes];
        for (int i = 0; i < n; i++) System.arraycopy(flat, i * classes, p[i], 0, classes);
        return p;
    }

    @Override
    public long step() {
        return step;
    }

    @Override
    public long imagesSeen() {
        return imagesSeen;
    }

    /** The complete training state in the canonical layout (see {@link ParamLayout}). */
    public EngineState snapshotState() {
        checkOpen();
        boolean momentum = config.optim().momentum() > 0;
        float[] params = new float[Math.toIntExact(layout.length())];
        float[] updater = new float[momentum ? Math.toIntExact(layout.trainableLength()) : 0];
        worker.call(Map.of("op", "state"), List.of(), List.of(params, updater));
        for (ParamLayout.Entry e : layout.entries()) {
            if (e.kind() == ParamLayout.Kind.BN_LOG10_STD) {
                float[] v = slice(params, e);
                TorchForm.log10StdFromVariance(v);
                System.arraycopy(v, 0, params, (int) e.offset(), v.length);
            }
        }
        if (momentum) TorchForm.velocityFromBuffer(updater, TorchForm.momentumRate(config.optim().learningRateAt(imagesSeen)));
        return new EngineState(config, step, imagesSeen, params, updater);
    }

    @Override
    public byte[] snapshot() {
        return snapshotState().toBytes();
    }

    @Override
    public long parameterCount() {
        return layout.trainableLength();
    }

    /** Whether the worker computes on a CUDA device. */
    public boolean onGpu() {
        return info.path("device").asText().startsWith("cuda");
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        worker.close();
    }

    private void checkOpen() {
        if (closed) throw new IllegalStateException("Engine is closed");
    }

    private void checkShape(Batch b) {
        LibtorchEngine.checkShape(config.wrn(), b);
    }

    private static float[] slice(float[] a, ParamLayout.Entry e) {
        float[] s = new float[Math.toIntExact(e.length())];
        System.arraycopy(a, (int) e.offset(), s, 0, s.length);
        return s;
    }
}
