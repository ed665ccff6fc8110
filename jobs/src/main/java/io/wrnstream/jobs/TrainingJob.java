package io.wrnstream.jobs;

import io.wrnstream.jobs.augment.AugmentFunction;
import io.wrnstream.jobs.augment.AugmentedImage;
import io.wrnstream.jobs.config.JobConfig;
import io.wrnstream.jobs.config.Preflight;
import io.wrnstream.jobs.decode.DeadLetter;
import io.wrnstream.jobs.decode.DecodeFunction;
import io.wrnstream.jobs.decode.KafkaImage;
import io.wrnstream.jobs.decode.LabelledImage;
import io.wrnstream.jobs.eval.Evaluation;
import io.wrnstream.jobs.eval.EvaluatorOperator;
import io.wrnstream.jobs.publish.BrokerLimits;
import io.wrnstream.jobs.publish.KafkaIo;
import io.wrnstream.jobs.publish.LogSink;
import io.wrnstream.jobs.train.TrainerEvent;
import io.wrnstream.jobs.train.TrainerOperator;
import io.wrnstream.jobs.update.FinalModelSink;
import io.wrnstream.jobs.update.ModelPublisherOperator;
import io.wrnstream.jobs.update.ModelVersions;
import io.wrnstream.kafka.update.ModelUpdate;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import org.apache.flink.api.common.JobExecutionResult;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.source.Source;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ExternalizedCheckpointRetention;
import org.apache.flink.configuration.JobManagerOptions;
import org.apache.flink.configuration.PipelineOptions;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.configuration.StateBackendOptions;
import org.apache.flink.core.execution.CheckpointingMode;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.LocalStreamEnvironment;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The streaming training job: Kafka training topic -> decode and validate (parallel; bad records to the dead-letter
 * topic) -> augment (parallel) -> minibatch + SGD (one checkpointed operator) -> model snapshots -> evaluator ->
 * results (exactly-once Kafka topic and JSON log lines); the model of each completed checkpoint -> model store + compacted
 * model-updates topic (exactly once, see {@link ModelPublisherOperator}).
 *
 * <p>The workflow takes its source and sinks from outside, so the same graph runs on a cluster ({@link #main}), in the
 * embedded demo and in tests:
 * <pre>{@code
 * JobConfig config = JobConfig.fromArgs(args);
 * StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(TrainingJob.flinkConfiguration(config));
 * new TrainingJob(config).defineWorkflow(env, KafkaIo.trainingSource(config), TrainingJob.Sinks.kafka(config));
 * env.execute("wrn-stream");
 * }</pre>
 */
public final class TrainingJob {
    private static final Logger LOG = LoggerFactory.getLogger(TrainingJob.class);

    /** Logger of the evaluation JSON lines. */
    public static final String RESULTS_LOGGER = "wrn.results";
    /** Logger of the trainer event JSON lines (when no event sink is given). */
    public static final String EVENTS_LOGGER = "wrn.trainer";

    /**
     * Where the job writes.
     *
     * @param results evaluation records (the job also logs them as JSON lines)
     * @param deadLetters records that could not be used
     * @param events trainer events (progress, checkpoints, restores), or null to only log them
     * @param modelUpdates model-update events (must be exactly once), or null to publish no models
     */
    public record Sinks(Sink<Evaluation> results, Sink<DeadLetter> deadLetters, Sink<TrainerEvent> events, Sink<ModelUpdate> modelUpdates) {
        public Sinks {
            Objects.requireNonNull(results, "results");
            Objects.requireNonNull(deadLetters, "deadLetters");
        }

        /** Sinks without model publication. */
        public Sinks(Sink<Evaluation> results, Sink<DeadLetter> deadLetters, Sink<TrainerEvent> events) {
            this(results, deadLetters, events, null);
        }

        /** The Kafka sinks {@code config} names (model updates when {@code model.publish}); trainer events only go to the log. */
        public static Sinks kafka(JobConfig config) {
            return new Sinks(KafkaIo.resultsSink(config), KafkaIo.deadLetterSink(config), null,
                    config.get(JobConfig.MODEL_PUBLISH) ? KafkaIo.modelUpdateSink(config) : null);
        }
    }

    private final JobConfig config;

    /** A job for {@code config}. */
    public TrainingJob(JobConfig config) {
        this.config = Objects.requireNonNull(config, "config");
    }

    /** The job's configuration. */
    public JobConfig config() {
        return config;
    }

    /** Longest back-off between two restarts. */
    static final Duration MAX_RESTART_BACKOFF = Duration.ofMinutes(1);

    /** Name of the Prometheus reporter in the Flink configuration ({@code metrics.reporter.prom.*}). */
    public static final String PROMETHEUS_REPORTER = "prom";

    /**
     * The Flink settings the job needs: exactly-once, unaligned checkpoints every {@code checkpoint.interval} to
     * {@code checkpoint.dir}, retained on cancellation, the chosen state backend, and generic (Kryo) types turned off.
     * Unless {@code metrics.prometheus.port} is 0 it also configures Flink's Prometheus reporter on that port (range),
     * which takes effect where this configuration starts the cluster (embedded demo, local runs, MiniCluster tests);
     * a standalone or Kubernetes cluster reads its reporters from its own Flink configuration instead.
     */
    public static Configuration flinkConfiguration(JobConfig c) {
        Configuration f = new Configuration();
        f.set(CheckpointingOptions.CHECKPOINTING_INTERVAL, c.get(JobConfig.CHECKPOINT_INTERVAL));
        f.set(CheckpointingOptions.CHECKPOINTING_CONSISTENCY_MODE, CheckpointingMode.EXACTLY_ONCE);
        f.set(CheckpointingOptions.ENABLE_UNALIGNED, true);
        f.set(CheckpointingOptions.EXTERNALIZED_CHECKPOINT_RETENTION, ExternalizedCheckpointRetention.RETAIN_ON_CANCELLATION);
        f.set(CheckpointingOptions.CHECKPOINT_STORAGE, "filesystem");
        f.set(CheckpointingOptions.CHECKPOINTS_DIRECTORY, c.get(JobConfig.CHECKPOINT_DIR));
        f.set(StateBackendOptions.STATE_BACKEND, c.get(JobConfig.STATE_BACKEND));
        f.set(PipelineOptions.GENERIC_TYPES, false);
        if (c.get(JobConfig.TRAINER_PARALLELISM) > 1) {
            // Ranks joined only through their all-reduce are separate failover regions to Flink: restart them all.
            f.set(JobManagerOptions.EXECUTION_FAILOVER_STRATEGY, "full");
        }
        // Bounded restarts: a failure that comes back every time ends the job with its error instead of looping.
        if (c.get(JobConfig.RESTART_ATTEMPTS) == 0) {
            f.set(RestartStrategyOptions.RESTART_STRATEGY, "none");
            return withPrometheus(c, f);
        }
        f.set(RestartStrategyOptions.RESTART_STRATEGY, "exponential-delay");
        f.set(RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_ATTEMPTS, c.get(JobConfig.RESTART_ATTEMPTS));
        f.set(RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_INITIAL_BACKOFF, c.get(JobConfig.RESTART_DELAY));
        f.set(RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_MAX_BACKOFF, MAX_RESTART_BACKOFF.compareTo(c.get(JobConfig.RESTART_DELAY)) < 0
                ? c.get(JobConfig.RESTART_DELAY) : MAX_RESTART_BACKOFF);
        f.set(RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_RESET_BACKOFF_THRESHOLD, Duration.ofMinutes(10));
        return withPrometheus(c, f);
    }

    private static Configuration withPrometheus(JobConfig c, Configuration f) {
        String port = c.get(JobConfig.PROMETHEUS_PORT);
        if (!port.equals("0")) {
            // One reporter per MiniCluster: its JobManager and TaskManagers share one metric registry, hence one port.
            String prefix = "metrics.reporter." + PROMETHEUS_REPORTER + ".";
            f.setString(prefix + "factory.class", "org.apache.flink.metrics.prometheus.PrometheusReporterFactory");
            f.setString(prefix + "port", port);
        }
        restorePath(c).ifPresent(path -> f.set(StateRecoveryOptions.SAVEPOINT_PATH, path));
        f.addAll(Configuration.fromMap(c.flinkOptions())); // flink.* last: the user's word wins
        return f;
    }

    /**
     * The checkpoint or savepoint {@code restore} names: its value, or for {@code latest} the newest checkpoint retained
     * under {@code checkpoint.dir}; empty when the job starts without state.
     *
     * @throws IllegalStateException when {@code restore=latest} and no checkpoint is retained
     */
    public static Optional<String> restorePath(JobConfig c) {
        String r = c.get(JobConfig.RESTORE);
        if (r.isEmpty()) return Optional.empty();
        if (!r.equals("latest")) return Optional.of(r);
        return Optional.of(RetainedCheckpoints.latest(c.get(JobConfig.CHECKPOINT_DIR)).orElseThrow(() -> new IllegalStateException(
                "restore=latest but no checkpoint is retained under checkpoint.dir=" + c.get(JobConfig.CHECKPOINT_DIR)
                        + ": give a checkpoint or savepoint path, or start without restore")));
    }

    /** {@code source.forward}: true, false, or auto (partitions of topic.train a multiple of {@code parallelism}). */
    private boolean forwardFromSource(int parallelism) {
        String mode = config.get(JobConfig.SOURCE_FORWARD);
        if (!mode.equals("auto")) return Boolean.parseBoolean(mode);
        int partitions = KafkaIo.trainPartitions(config, Duration.ofSeconds(10));
        boolean forward = partitions > 0 && partitions % parallelism == 0;
        LOG.info("source.forward=auto: {} has {} partitions for parallelism {}: {}", config.get(JobConfig.TOPIC_TRAIN),
                partitions < 0 ? "an unknown number of" : partitions, parallelism, forward ? "forward edges from the source" : "rebalance after the source");
        return forward;
    }

    /** Builds the graph on {@code env}, reading {@code source} and writing {@code sinks}. */
    public void defineWorkflow(StreamExecutionEnvironment env, Source<KafkaImage, ?, ?> source, Sinks sinks) {
        int[] shape = config.inputShape();
        int parallelism = config.get(JobConfig.PARALLELISM);

        DataStream<KafkaImage> raw = env.fromSource(source, WatermarkStrategy.noWatermarks(), "kafka: " + config.get(JobConfig.TOPIC_TRAIN))
                .uid("train-source").setParallelism(parallelism);

        // Forward when every source subtask reads the same number of partitions (no shuffle of encoded images; with
        // trainer.parallelism = parallelism each rank trains what its own partitions hold), else spread the records over
        // all decoders (partitions may be fewer than decoders, or divide unevenly).
        DataStream<KafkaImage> toDecoders = forwardFromSource(parallelism) ? raw : raw.rebalance();
        SingleOutputStreamOperator<LabelledImage> decoded = toDecoders
                .process(new DecodeFunction(config.get(JobConfig.CLASSES), shape[0], shape[1], shape[2]))
                .uid("decode").name("decode + validate").setParallelism(parallelism);
        decoded.getSideOutput(DecodeFunction.DEAD_LETTERS).sinkTo(sinks.deadLetters())
                .uid("dead-letter-sink").name("dead letters: " + config.get(JobConfig.TOPIC_DEAD_LETTER)).setParallelism(parallelism);

        DataStream<AugmentedImage> augmented = decoded.map(new AugmentFunction(config.get(JobConfig.SEED)))
                .uid("augment").name("augment (pad, crop, flip)").setParallelism(parallelism);

        // trainer.parallelism N > 1: N data-parallel ranks, fed forward (within a slot) when the parallelism allows.
        int ranks = config.get(JobConfig.TRAINER_PARALLELISM);
        DataStream<AugmentedImage> toTrainer = ranks == parallelism ? augmented : augmented.rebalance();
        SingleOutputStreamOperator<TrainerEvent> trainer = toTrainer
                .transform(ranks > 1 ? "minibatch + SGD (" + ranks + " data-parallel ranks)" : "minibatch + SGD",
                        TypeInformation.of(TrainerEvent.class), new TrainerOperator(config))
                .uid("trainer").setParallelism(ranks).setMaxParallelism(ranks);
        if (sinks.events() != null) {
            trainer.sinkTo(sinks.events()).uid("trainer-event-sink").name("trainer events").setParallelism(1);
        }
        trainer.sinkTo(new LogSink<>(EVENTS_LOGGER, TrainerEvent::toJson)).uid("trainer-event-log").name("trainer events: log").setParallelism(1);
        trainer.getSideOutput(TrainerOperator.FINAL_MODEL).sinkTo(new FinalModelSink(config.get(JobConfig.MODEL_OUTPUT)))
                .uid("final-model-sink").name("final model: " + config.get(JobConfig.MODEL_OUTPUT)).setParallelism(1);

        SingleOutputStreamOperator<Evaluation> evaluations = trainer.getSideOutput(TrainerOperator.SNAPSHOTS)
                .transform("evaluate", TypeInformation.of(Evaluation.class), new EvaluatorOperator(config))
                .uid("evaluator").setParallelism(1).setMaxParallelism(1)
                .disableChaining(); // its own task: a slow evaluation must not hold the trainer's thread
        evaluations.sinkTo(sinks.results()).uid("results-sink").name("results: " + config.get(JobConfig.TOPIC_RESULTS)).setParallelism(1);
        evaluations.sinkTo(new LogSink<>(RESULTS_LOGGER, Evaluation::toJson)).uid("results-log").name("results: log").setParallelism(1);

        if (sinks.modelUpdates() != null && config.get(JobConfig.MODEL_PUBLISH)) {
            // Model file write + update event; the exactly-once sink commits an update only with its checkpoint.
            trainer.getSideOutput(TrainerOperator.MODEL_CANDIDATES).connect(evaluations)
                    .transform("publish model", TypeInformation.of(ModelUpdate.class),
                            new ModelPublisherOperator(config, ModelVersions.newestOnTopic(config, PREFLIGHT_TIMEOUT)))
                    .uid("model-publisher").setParallelism(1).setMaxParallelism(1)
                    .sinkTo(sinks.modelUpdates()).uid("model-update-sink").name("model updates: " + config.get(JobConfig.TOPIC_MODEL_UPDATES))
                    .setParallelism(1);
        }
    }

    /** Logs the configuration, builds the Kafka job on the context's environment and runs it to the end. */
    public JobExecutionResult execute() throws Exception {
        return prepare().execute(jobName());
    }

    /** Like {@link #execute()} but returns as soon as the job is submitted. */
    public JobClient executeAsync() throws Exception {
        return prepare().executeAsync(jobName());
    }

    private StreamExecutionEnvironment prepare() {
        LOG.info("wrn-stream training job configuration:");
        config.logLines().forEach(l -> LOG.info("  {}", l));
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(flinkConfiguration(config));
        BrokerLimits limits = BrokerLimits.read(config, PREFLIGHT_TIMEOUT);
        // A local environment trains in this JVM, so its memory is the trainer's; a cluster's TaskManager checks its own.
        Preflight.check(config, limits, env instanceof LocalStreamEnvironment ? Preflight.machineMemory(config) : 0,
                Preflight.retainedCheckpoint(config));
        defineWorkflow(env, KafkaIo.trainingSource(config), new Sinks(KafkaIo.resultsSink(config), KafkaIo.deadLetterSink(config, limits),
                null, config.get(JobConfig.MODEL_PUBLISH) ? KafkaIo.modelUpdateSink(config) : null));
        return env;
    }

    /** How long the pre-submission checks wait for the broker. */
    static final Duration PREFLIGHT_TIMEOUT = Duration.ofSeconds(30);

    /**
     * Why a job failed, for a person: the innermost cause that is not one of Flink's wrappers, and whether the
     * restarts ({@code restart.attempts}) ran out first.
     */
    public static String describeFailure(Throwable t) {
        boolean exhausted = false;
        Throwable root = t;
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            String m = String.valueOf(c.getMessage());
            if (m.contains("Recovery is suppressed")) exhausted = true;
            root = c;
        }
        String what = root.getMessage() == null ? root.getClass().getName() : root.getClass().getSimpleName() + ": " + root.getMessage();
        return "The training job failed" + (exhausted ? " after its restarts ran out (restart.attempts)" : "") + ": " + what;
    }

    private String jobName() {
        return "wrn-stream: train " + config.wrn().name() + " on " + config.get(JobConfig.TOPIC_TRAIN);
    }

    /** Runs the job with the cluster's {@code wrn-stream.*} Flink settings and {@code --key value} arguments (see {@link JobConfig#help()}). */
    public static void main(String[] args) throws Exception {
        new TrainingJob(JobConfig.fromClusterAndArgs(args)).execute();
    }
}
