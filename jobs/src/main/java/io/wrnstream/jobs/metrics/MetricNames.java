package io.wrnstream.jobs.metrics;

import java.util.List;
import java.util.Set;

/**
 * Every metric the job registers, in one place: the Flink metric name (registered under the operator's
 * {@value #GROUP} group) and its Prometheus form as Flink's Prometheus reporter exports it, plus the Flink
 * built-in metrics the dashboard uses.
 *
 * <p>Flink's Prometheus reporter names an operator metric {@code flink_taskmanager_job_task_operator_<group>_<name>}
 * and turns the scope variables (job_name, task_name, operator_name, subtask_index, ...) into labels. A key/value
 * group such as {@code addGroup("reason", "BAD_SHAPE")} contributes its key to the name and a label
 * {@code reason="BAD_SHAPE"}; a {@link org.apache.flink.metrics.Histogram} is exported as a summary with
 * {@code quantile} labels (0.5 ... 0.999) and a {@code _count} series; a {@link org.apache.flink.metrics.Meter}
 * as a gauge of its per-second rate.
 */
public final class MetricNames {
    private MetricNames() {}

    /** Operator sub-group that holds every wrn-stream metric, so they share the Prometheus prefix {@link #PREFIX}. */
    public static final String GROUP = "wrn";
    /** Prometheus prefix of every wrn-stream operator metric. */
    public static final String PREFIX = "flink_taskmanager_job_task_operator_" + GROUP + "_";

    // ---- trainer ----
    /** Gauge: training steps taken. */
    public static final String STEP = "step";
    /** Gauge: training images consumed. */
    public static final String IMAGES_SEEN = "imagesSeen";
    /** Gauge: fractional epochs (images seen / optim.epoch-size). */
    public static final String EPOCHS = "epochs";
    /** Gauge: learning rate the schedule gives for the images seen. */
    public static final String LEARNING_RATE = "learningRate";
    /** Gauge: mean cross-entropy of the last minibatch (NaN before the first step). */
    public static final String TRAIN_LOSS = "trainLoss";
    /** Gauge: accuracy of the last minibatch, in [0, 1]. */
    public static final String TRAIN_ACCURACY = "trainAccuracy";
    /** Gauge: {@link #TRAIN_LOSS} smoothed by a bias-corrected exponential moving average over about 10 steps. */
    public static final String TRAIN_LOSS_SMOOTHED = "trainLossSmoothed";
    /** Gauge: {@link #TRAIN_ACCURACY} smoothed like {@link #TRAIN_LOSS_SMOOTHED}. */
    public static final String TRAIN_ACCURACY_SMOOTHED = "trainAccuracySmoothed";
    /** Meter: training images per second into the trainer (rate over {@link TrainerMetrics#RATE_SECONDS} s). */
    public static final String IMAGES_PER_SECOND = "imagesPerSecond";
    /** Histogram (ms): duration of one SGD step, over the last {@link TrainerMetrics#WINDOW} steps. */
    public static final String STEP_TIME_MS = "stepTimeMs";
    /** Counter with label {@value #KIND}: steps skipped because loss ({@code nan}, {@code inf}) or gradients ({@code gradient}) were not finite. */
    public static final String NON_FINITE_STEPS = "nonFiniteSteps";
    /** Label key of {@link #NON_FINITE_STEPS}. */
    public static final String KIND = "kind";
    /** Gauge: version of the newest model snapshot (0 before the first). */
    public static final String MODEL_VERSION = "modelVersion";
    /** Counter: model snapshots emitted for evaluation. */
    public static final String SNAPSHOTS = "snapshots";
    /** Histogram (ms): time to copy and emit a model snapshot (the trainer pauses meanwhile). */
    public static final String SNAPSHOT_TIME_MS = "snapshotTimeMs";
    /** Gauge (ms): synchronous pause of the trainer at the last checkpoint. */
    public static final String CHECKPOINT_SYNC_MILLIS = "checkpointSyncMillis";
    /** Gauge (bytes): size of the trainer's state at the last checkpoint. */
    public static final String CHECKPOINT_STATE_BYTES = "checkpointStateBytes";
    /** Gauge (bytes): device memory in use on the trainer's GPU. Registered only when ND4J's CUDA backend is loaded. */
    public static final String DEVICE_MEMORY_USED_BYTES = "deviceMemoryUsedBytes";
    /** Gauge (bytes): total device memory of the trainer's GPU. Registered only when ND4J's CUDA backend is loaded. */
    public static final String DEVICE_MEMORY_TOTAL_BYTES = "deviceMemoryTotalBytes";

    // ---- evaluator ----
    /** Gauge: top-1 error of the latest evaluation, in [0, 1] (NaN before the first). */
    public static final String TEST_ERROR = "testError";
    /** Gauge: mean cross-entropy of the latest evaluation. */
    public static final String TEST_LOSS = "testLoss";
    /** Gauge: model version of the latest evaluation. */
    public static final String EVALUATED_MODEL_VERSION = "evaluatedModelVersion";
    /** Gauge: training images seen by the model of the latest evaluation (the x axis of the learning curve). */
    public static final String EVALUATED_IMAGES_SEEN = "evaluatedImagesSeen";
    /** Counter: evaluations emitted. */
    public static final String EVALUATIONS = "evaluations";
    /** Histogram (ms): duration of one evaluation of the held-out set. */
    public static final String EVALUATION_TIME_MS = "evaluationTimeMs";
    /** Gauge: snapshots the evaluator skipped because a newer one arrived while it was busy. */
    public static final String DROPPED_SNAPSHOTS = "droppedSnapshots";
    /** Gauge: held-out images per evaluation. */
    public static final String HELD_OUT_IMAGES = "heldOutImages";

    // ---- decode ----
    /** Counter: training records decoded and accepted. */
    public static final String DECODED_IMAGES = "decodedImages";
    /** Counter with label {@value #REASON}: records sent to the dead-letter topic. */
    public static final String DEAD_LETTERS = "deadLetters";
    /** Label key of {@link #DEAD_LETTERS}: a {@link io.wrnstream.kafka.format.RecordFormatException.Reason} name. */
    public static final String REASON = "reason";

    // ---- model publisher (streaming model updates; see PublishMetrics) ----
    /** Counter: model files written to the model store and announced on the model-update topic. */
    public static final String MODEL_PUBLISHES = "modelPublishes";
    /** Counter: model publications that failed (the job retries or fails over). */
    public static final String MODEL_PUBLISH_FAILURES = "modelPublishFailures";
    /** Histogram (ms): time to write, checksum and announce one model file. */
    public static final String MODEL_PUBLISH_TIME_MS = "modelPublishTimeMs";
    /** Gauge: model version of the last publication. */
    public static final String PUBLISHED_MODEL_VERSION = "publishedModelVersion";
    /** Gauge (bytes): size of the last published model file. */
    public static final String PUBLISHED_MODEL_BYTES = "publishedModelBytes";

    /** Prometheus name of a plain wrn-stream metric, e.g. {@code flink_taskmanager_job_task_operator_wrn_trainLoss}. */
    public static String prometheus(String name) {
        return PREFIX + name;
    }

    /** Prometheus name of a wrn-stream metric in a key/value group, e.g. {@code flink_taskmanager_job_task_operator_wrn_reason_deadLetters}. */
    public static String prometheus(String labelKey, String name) {
        return PREFIX + labelKey + "_" + name;
    }

    /** The wrn-stream metrics that exist only on a GPU (ND4J's CUDA backend); the dashboard may query them. */
    public static final Set<String> GPU_ONLY = Set.of(prometheus(DEVICE_MEMORY_USED_BYTES), prometheus(DEVICE_MEMORY_TOTAL_BYTES));

    // ---- Flink built-ins the dashboard uses (Prometheus names) ----
    /** JobManager: duration (ms) of the last completed checkpoint. */
    public static final String FLINK_LAST_CHECKPOINT_DURATION = "flink_jobmanager_job_lastCheckpointDuration";
    /** JobManager: checkpointed size (bytes) of the last completed checkpoint. */
    public static final String FLINK_LAST_CHECKPOINT_SIZE = "flink_jobmanager_job_lastCheckpointSize";
    /** JobManager: completed checkpoints. */
    public static final String FLINK_COMPLETED_CHECKPOINTS = "flink_jobmanager_job_numberOfCompletedCheckpoints";
    /** JobManager: failed checkpoints. */
    public static final String FLINK_FAILED_CHECKPOINTS = "flink_jobmanager_job_numberOfFailedCheckpoints";
    /** JobManager: restarts of the job. */
    public static final String FLINK_RESTARTS = "flink_jobmanager_job_numRestarts";
    /** Task: ms per second the task was back-pressured. */
    public static final String FLINK_BACKPRESSURED = "flink_taskmanager_job_task_backPressuredTimeMsPerSecond";
    /** Task: ms per second the task was busy. */
    public static final String FLINK_BUSY = "flink_taskmanager_job_task_busyTimeMsPerSecond";
    /** Kafka source: the consumer's largest partition lag (records). */
    public static final String FLINK_KAFKA_RECORDS_LAG_MAX = "flink_taskmanager_job_task_operator_KafkaSourceReader_KafkaConsumer_records_lag_max";
    /** Source (FLIP-33): records not yet read from the partitions this reader owns. */
    public static final String FLINK_PENDING_RECORDS = "flink_taskmanager_job_task_operator_pendingRecords";
    /** Operator: records in per second (FLIP-33). */
    public static final String FLINK_RECORDS_IN_PER_SECOND = "flink_taskmanager_job_task_operator_numRecordsInPerSecond";

    /** Every Flink built-in metric above. */
    public static final List<String> FLINK_BUILT_INS = List.of(FLINK_LAST_CHECKPOINT_DURATION, FLINK_LAST_CHECKPOINT_SIZE,
            FLINK_COMPLETED_CHECKPOINTS, FLINK_FAILED_CHECKPOINTS, FLINK_RESTARTS, FLINK_BACKPRESSURED, FLINK_BUSY,
            FLINK_KAFKA_RECORDS_LAG_MAX, FLINK_PENDING_RECORDS, FLINK_RECORDS_IN_PER_SECOND);
}
