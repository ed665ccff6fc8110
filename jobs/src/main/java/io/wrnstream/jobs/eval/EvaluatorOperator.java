package io.wrnstream.jobs.eval;

import io.wrnstream.jobs.config.JobConfig;
import io.wrnstream.jobs.metrics.EvaluatorMetrics;
import io.wrnstream.jobs.train.ModelSnapshot;
import io.wrnstream.jobs.train.ModelSnapshotSerializer;
import io.wrnstream.model.engine.Engines;
import io.wrnstream.model.engine.TrainingEngine;
import io.wrnstream.model.eval.EvalResult;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.typeutils.base.array.BytePrimitiveArraySerializer;
import org.apache.flink.runtime.state.StateInitializationContext;
import org.apache.flink.runtime.state.StateSnapshotContext;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.BoundedOneInput;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Evaluates model snapshots on the held-out set in inference mode, on its own thread so that neither the trainer nor
 * this task's checkpoints wait for an evaluation. At most one evaluation runs; of the snapshots that arrive meanwhile
 * only the newest is kept (the others are counted as {@code droppedSnapshots}). The latest test error and loss are
 * gauges (see {@link EvaluatorMetrics}). Finished evaluations are emitted from
 * the task thread (a 100 ms processing-time poll, and at end of input, where everything still queued is evaluated).
 *
 * <p>The running and waiting snapshots are kept in operator state (versioned bytes, see {@link ModelSnapshotSerializer})
 * so that a restore evaluates them again and no result is lost across a failure.
 */
public final class EvaluatorOperator extends AbstractStreamOperator<Evaluation>
        implements OneInputStreamOperator<ModelSnapshot, Evaluation>, BoundedOneInput {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(EvaluatorOperator.class);
    private static final long POLL_MS = 100;

    private final JobConfig config;
    private transient ListState<byte[]> state;
    private transient List<ModelSnapshot> restored;
    private transient HeldOutSet heldOut;
    private transient ExecutorService worker;
    private transient ModelSnapshot running;
    private transient Future<Evaluation> result;
    private transient ModelSnapshot waiting;
    private transient long dropped;
    private transient boolean ended;
    private transient EvaluatorMetrics metrics;

    /** An evaluator of the held-out set {@code config} names. */
    public EvaluatorOperator(JobConfig config) {
        this.config = config;
    }

    @Override
    public void initializeState(StateInitializationContext context) throws Exception {
        super.initializeState(context);
        state = context.getOperatorStateStore().getListState(new ListStateDescriptor<>("evaluator-queue", BytePrimitiveArraySerializer.INSTANCE));
        restored = new ArrayList<>();
        if (context.isRestored()) for (byte[] b : state.get()) restored.add(ModelSnapshotSerializer.deserialize(b));
    }

    @Override
    public void open() throws Exception {
        super.open();
        heldOut = HeldOutSet.load(config);
        worker = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "wrn-evaluator");
            t.setDaemon(true);
            return t;
        });
        metrics = EvaluatorMetrics.register(getMetricGroup(), () -> dropped, () -> heldOut == null ? 0 : heldOut.images());
        for (ModelSnapshot s : restored) offer(s);
        restored = null;
        schedulePoll();
    }

    @Override
    public void processElement(StreamRecord<ModelSnapshot> element) {
        offer(element.getValue());
    }

    private void offer(ModelSnapshot s) {
        if (running == null) {
            start(s);
        } else {
            if (waiting != null) {
                dropped++;
                LOG.info("Evaluator behind: dropping snapshot v{} (step {}) for the newer v{}", waiting.version(), waiting.step(), s.version());
            }
            waiting = s;
        }
    }

    private void start(ModelSnapshot s) {
        running = s;
        result = worker.submit(() -> evaluate(s));
    }

    private Evaluation evaluate(ModelSnapshot s) {
        long t0 = System.nanoTime();
        try (TrainingEngine e = Engines.restore(s.engine())) {
            EvalResult r = e.evaluate(heldOut.batches().iterator());
            return new Evaluation(s.version(), s.step(), s.imagesSeen(), s.epochs(), r.error(), r.loss(), r.images(), s.wallMs(),
                    (System.nanoTime() - t0) / 1_000_000);
        }
    }

    private void schedulePoll() {
        long now = getProcessingTimeService().getCurrentProcessingTime();
        getProcessingTimeService().registerTimer(now + POLL_MS, t -> {
            if (ended) return;
            drain(false);
            schedulePoll();
        });
    }

    /** Emits a finished evaluation and starts the waiting one; with {@code block}, waits for the running one. */
    private void drain(boolean block) throws Exception {
        while (result != null && (block || result.isDone())) {
            Evaluation e = result.get();
            metrics.onEvaluation(e.modelVersion(), e.imagesSeen(), e.testError(), e.testLoss(), e.evalMs());
            output.collect(new StreamRecord<>(e));
            running = null;
            result = null;
            if (waiting != null) {
                ModelSnapshot next = waiting;
                waiting = null;
                start(next);
            }
        }
    }

    @Override
    public void endInput() throws Exception {
        drain(true);
        ended = true;
    }

    @Override
    public void snapshotState(StateSnapshotContext context) throws Exception {
        super.snapshotState(context);
        List<byte[]> queue = new ArrayList<>(2);
        if (running != null) queue.add(ModelSnapshotSerializer.serialize(running));
        if (waiting != null) queue.add(ModelSnapshotSerializer.serialize(waiting));
        state.update(queue);
    }

    @Override
    public void close() throws Exception {
        ended = true;
        if (worker != null) worker.shutdownNow();
        super.close();
    }
}
