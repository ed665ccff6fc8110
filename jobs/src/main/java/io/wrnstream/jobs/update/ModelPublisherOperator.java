package io.wrnstream.jobs.update;

import io.wrnstream.kafka.update.ModelUpdate;

import io.wrnstream.jobs.config.JobConfig;
import io.wrnstream.jobs.eval.Evaluation;
import io.wrnstream.jobs.metrics.PublishMetrics;
import io.wrnstream.model.engine.TrainConfig;
import io.wrnstream.model.io.ModelFile;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.Iterator;
import java.util.List;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.typeutils.base.array.BytePrimitiveArraySerializer;
import org.apache.flink.runtime.state.StateInitializationContext;
import org.apache.flink.runtime.state.StateSnapshotContext;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.TwoInputStreamOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Publishes the trainer's models: for each {@link ModelCandidate} newer than the last published model it writes the
 * model file to the {@link ModelStore} and emits a {@link ModelUpdate}, which an exactly-once Kafka sink writes to the
 * compacted model-updates topic. Its second input, the evaluations, gives each update the latest known test error.
 * Runs with parallelism 1, in its own task, so the file write never pauses training.
 *
 * <p><b>Exactly once.</b> The trainer emits a candidate before the barrier of checkpoint N. Its update is emitted before
 * that barrier reaches the sink (or, when an unaligned barrier overtakes the candidate, the candidate is part of
 * checkpoint N's in-flight data and its update goes into the next transaction). The sink's Kafka transaction commits
 * only once the checkpoint completes; a failure aborts it, and the restore rewinds this operator's version counter with
 * the trainer. So every committed update names a model of checkpointed work, versions are 1, 2, 3... without gaps or
 * repeats, and a rolled-back update is never visible to a {@code read_committed} consumer. The file of a rolled-back
 * update stays in the store as an orphan (never announced; unique names mean it is never overwritten); delete such files
 * with the store's retention (e.g. an object lifecycle rule or a cron job on files older than a day that no event names).
 *
 * <p><b>State</b>: one versioned byte array (format {@value #STATE_FORMAT}): last published version and step, latest test
 * error and its step.
 */
public final class ModelPublisherOperator extends AbstractStreamOperator<ModelUpdate>
        implements TwoInputStreamOperator<ModelCandidate, Evaluation, ModelUpdate> {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(ModelPublisherOperator.class);
    /** Layout version of this operator's state bytes. */
    static final int STATE_FORMAT = 1;

    private final JobConfig config;
    private transient ListState<byte[]> state;
    private transient ModelStore store;
    private transient PublishMetrics metrics;
    private transient TrainConfig trainConfig;
    private transient long version;
    private transient long lastStep;
    private transient Double testError;
    private transient Long testErrorStep;
    private transient long published;
    private transient volatile double lastPublishMillis;
    private transient boolean failOnNextPublish;

    /** A publisher to the store and model id of {@code config}. */
    public ModelPublisherOperator(JobConfig config) {
        this.config = config;
    }

    @Override
    public void initializeState(StateInitializationContext context) throws Exception {
        super.initializeState(context);
        state = context.getOperatorStateStore().getListState(new ListStateDescriptor<>("model-publisher", BytePrimitiveArraySerializer.INSTANCE));
        version = 0;
        lastStep = 0;
        testError = null;
        testErrorStep = null;
        if (context.isRestored()) {
            Iterator<byte[]> it = state.get().iterator();
            if (it.hasNext()) restore(it.next());
            if (it.hasNext()) throw new IllegalStateException("Model publisher state holds more than one element: it must run with parallelism 1");
            LOG.info("Model publisher restored: last published version {} at step {}", version, lastStep);
        }
    }

    @Override
    public void open() throws Exception {
        super.open();
        store = new ModelStore(config.get(JobConfig.MODEL_STORE));
        trainConfig = config.trainConfig();
        metrics = PublishMetrics.register(getMetricGroup());
    }

    @Override
    public void processElement1(StreamRecord<ModelCandidate> element) {
        ModelCandidate c = element.getValue();
        if (c.step() <= lastStep) {
            LOG.info("Model at step {} not published: version {} already has step {}", c.step(), version, lastStep);
            return;
        }
        long t0 = System.nanoTime();
        long v = version + 1;
        byte[] file = ModelFile.toBytes(ModelFile.provenance(trainConfig, c.step(), c.imagesSeen(), c.engine()), c.engine());
        ModelStore.Written w;
        try {
            w = store.write(config.modelId(), v, c.checkpointId(), c.step(), file);
        } catch (RuntimeException e) {
            metrics.onFailure();
            throw e;
        }
        ModelUpdate u = new ModelUpdate(config.modelId(), v, c.step(), c.imagesSeen(), c.epochs(), testError, testErrorStep, w.location(),
                w.sha256(), w.size(), c.checkpointId(), System.currentTimeMillis());
        output.collect(new StreamRecord<>(u));
        version = v;
        lastStep = c.step();
        published++;
        lastPublishMillis = (System.nanoTime() - t0) / 1e6;
        metrics.onPublish(v, w.size(), System.nanoTime() - t0);
        LOG.info("Model v{} (step {}, checkpoint {}) written to {} ({} bytes) in {} ms; update pending until its checkpoint completes", v,
                c.step(), c.checkpointId(), w.location(), w.size(), String.format("%.1f", lastPublishMillis));
        if (failOnNextPublish) {
            failOnNextPublish = false;
            throw new IllegalStateException("debug.fail-after-publish=true: the model publisher fails on purpose after emitting v" + v
                    + ", before its checkpoint completes");
        }
    }

    @Override
    public void processElement2(StreamRecord<Evaluation> element) {
        Evaluation e = element.getValue();
        if (testErrorStep == null || e.step() >= testErrorStep) {
            testError = e.testError();
            testErrorStep = e.step();
        }
    }

    @Override
    public void snapshotState(StateSnapshotContext context) throws Exception {
        super.snapshotState(context);
        state.update(List.of(serialize()));
    }

    @Override
    public void notifyCheckpointComplete(long checkpointId) throws Exception {
        super.notifyCheckpointComplete(checkpointId);
        if (config.get(JobConfig.FAIL_AFTER_PUBLISH) && version >= 1 && getRuntimeContext().getTaskInfo().getAttemptNumber() == 0) {
            failOnNextPublish = true;
        }
    }

    byte[] serialize() throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(40);
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeInt(STATE_FORMAT);
            out.writeLong(version);
            out.writeLong(lastStep);
            out.writeBoolean(testError != null);
            out.writeDouble(testError == null ? Double.NaN : testError);
            out.writeLong(testErrorStep == null ? -1 : testErrorStep);
        }
        return bytes.toByteArray();
    }

    void restore(byte[] bytes) throws IOException {
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes))) {
            int format = in.readInt();
            if (format != STATE_FORMAT) {
                throw new IllegalStateException("Unsupported model publisher state format " + format + ": this build reads format " + STATE_FORMAT);
            }
            version = in.readLong();
            lastStep = in.readLong();
            boolean known = in.readBoolean();
            double err = in.readDouble();
            long errStep = in.readLong();
            testError = known ? err : null;
            testErrorStep = known ? errStep : null;
        }
    }
}
