package io.wrnstream.jobs.config;

import static org.apache.flink.configuration.ConfigOptions.key;

import io.wrnstream.model.Defaults;
import io.wrnstream.model.engine.TrainConfig;
import io.wrnstream.model.optim.OptimConfig;
import io.wrnstream.model.optim.Schedule;
import io.wrnstream.model.wrn.WrnConfig;
import java.io.IOException;
import java.io.Serializable;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.function.Predicate;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.DelegatingConfiguration;
import org.apache.flink.configuration.GlobalConfiguration;

/**
 * The one validated, immutable configuration of the streaming training job.
 *
 * <p>Every option is a Flink {@link ConfigOption}, declared once below with its type, default and a one-line
 * description, plus the range it must lie in; {@link #help()} and {@link #markdownTable()} are generated from these
 * declarations. Values are parsed by Flink's own converters (durations such as {@code 500ms}, {@code 60s},
 * {@code 10min}; lists as {@code 60,120,160}, {@code 60;120;160} or {@code [60, 120, 160]}), then range-checked. The
 * defaults that other programs share ({@code train}, {@code bench}, {@code ingest}, {@code serve}, the demo) are the
 * constants of {@link Defaults}.
 *
 * <p>Values come from, later ones overriding earlier ones:
 * <ol>
 *   <li>the cluster's Flink configuration, keys prefixed with {@value #CLUSTER_PREFIX} (for example
 *       {@code wrn-stream.batch-size: "64"} in a FlinkDeployment's {@code flinkConfiguration}; see {@link #fromFlink});</li>
 *   <li>a file of {@code key: value} (or {@code key=value}) lines given as {@code --config FILE};</li>
 *   <li>{@code --key value} arguments.</li>
 * </ol>
 * Keys starting with {@code kafka.} are passed, prefix removed, to every Kafka client the job makes (source, sinks,
 * admin): use them for {@code security.protocol}, {@code sasl.*} and {@code ssl.*}.
 *
 * <pre>{@code
 * JobConfig c = JobConfig.fromArgs("--config", "job.yaml", "--batch-size", "64");
 * int batch = c.get(JobConfig.BATCH_SIZE);
 * c.logLines().forEach(LOG::info);
 * }</pre>
 *
 * <p>A bad value fails at once naming the key, the value and what is allowed; conflicting values fail with
 * IllegalStateException.
 */
public final class JobConfig implements Serializable {
    private static final long serialVersionUID = 2L;

    /** Prefix of the Kafka client properties passed through unchanged (minus the prefix). */
    public static final String KAFKA_PREFIX = "kafka.";
    /** Prefix of Flink configuration keys passed through unchanged (minus the prefix), e.g. {@code flink.state.checkpoints.num-retained}. */
    public static final String FLINK_PREFIX = "flink.";
    /** Prefix of the job's options in a Flink configuration ({@code wrn-stream.batch-size}, {@code wrn-stream.kafka.acks}). */
    public static final String CLUSTER_PREFIX = "wrn-stream.";
    /** Default of {@link #PROMETHEUS_PORT}, as text (the demo's command line shares it). */
    public static final String DEFAULT_PROMETHEUS_PORTS = "9249-9259";

    /** What a declared option's value must satisfy, and the words of the error when it does not. */
    private record Rule<T>(Predicate<T> ok, String allowed, UnaryOperator<String> normalize) {
        Rule<T> normalizing(UnaryOperator<String> n) {
            return new Rule<>(ok, allowed, n);
        }
    }

    /** One declaration: the Flink option, its description as plain text and its rule. */
    private record Declared<T>(ConfigOption<T> option, String description, Rule<T> rule) {}

    private static final Map<String, Declared<?>> DECLARED = new LinkedHashMap<>();

    public static final ConfigOption<String> BOOTSTRAP_SERVERS = declare(key("bootstrap-servers").stringType()
            .defaultValue(Defaults.BOOTSTRAP_SERVERS), "Kafka bootstrap servers (host:port[,host:port...])",
            nonEmpty("host:port[,host:port...]"));
    public static final ConfigOption<String> GROUP_ID = declare(key("group-id").stringType().defaultValue("wrn-trainer"),
            "Kafka consumer group of the training source (offsets are committed on checkpoints)", topicLike());
    public static final ConfigOption<String> TOPIC_TRAIN = declare(key("topic.train").stringType().defaultValue(Defaults.TOPIC_TRAIN),
            "Topic of training images (ImageRecord values, key = sample id)", topicLike());
    public static final ConfigOption<String> TOPIC_TEST = declare(key("topic.test").stringType().defaultValue(Defaults.TOPIC_TEST),
            "Topic of held-out images, read once by the evaluator when eval.dataset is empty", topicLike());
    public static final ConfigOption<String> TOPIC_RESULTS = declare(key("topic.results").stringType().defaultValue(Defaults.TOPIC_RESULTS),
            "Topic the evaluation records are written to (exactly once, JSON)", topicLike());
    public static final ConfigOption<String> TOPIC_DEAD_LETTER = declare(key("topic.dead-letter").stringType().defaultValue("wrn.dead-letter"),
            "Topic for undecodable or invalid training records (original key/value, reason in header wrn.dlq.reason)", topicLike());
    public static final ConfigOption<Boolean> SOURCE_BOUNDED = declare(key("source.bounded").booleanType().defaultValue(false),
            "Stop reading the training topic at the offsets that are latest when the job starts (bounded run)", bool());
    public static final ConfigOption<String> SOURCE_START = declare(key("source.start").stringType().defaultValue("committed"),
            "Where a fresh job starts reading: committed (group offsets, else earliest) or earliest", oneOf("committed", "earliest"));
    public static final ConfigOption<String> SOURCE_FORWARD = declare(key("source.forward").stringType().defaultValue("false"),
            "Whether each source subtask feeds its own decoder (and, with trainer.parallelism = parallelism, its own trainer rank) "
                    + "without a shuffle: true, auto (true when topic.train's partitions divide evenly over parallelism) or false (rebalance)",
            oneOf("auto", "true", "false"));
    public static final ConfigOption<String> MODEL = declare(key("model").stringType().defaultValue(Defaults.MODEL),
            "Model wrn-D-K (D = 6n+4, K >= 1)", new Rule<>(v -> WrnConfig.parse(v) != null, "wrn-D-K", String::strip));
    public static final ConfigOption<Double> DROPOUT = declare(key("dropout").doubleType().defaultValue(Defaults.DROPOUT),
            "Dropout between the convolutions of a block, in [0, 1) (paper: 0.3)", number(0, 1, true, false));
    public static final ConfigOption<String> ENGINE = declare(key("engine").stringType().defaultValue(Defaults.ENGINE),
            "Numeric engine of the trainer: libtorch (the fastest here) or dl4j", oneOf(TrainConfig.ENGINES.toArray(String[]::new)));
    public static final ConfigOption<String> PRECISION = declare(key("precision").stringType().defaultValue(Defaults.PRECISION),
            "Training precision: fp32, bf16 (engine libtorch), or auto: bf16 for libtorch on a GPU or a CPU with AVX-512-BF16/AMX, else fp32",
            oneOf("auto", "fp32", "bf16"));
    public static final ConfigOption<String> INPUT_SHAPE = declare(key("input.shape").stringType().defaultValue("3x32x32"),
            "Image shape CxHxW every training record must have (others go to the dead-letter topic)",
            new Rule<String>(JobConfig::isShape, "CxHxW with C >= 1 and H, W >= 8, e.g. 3x32x32 or 1x28x28", String::strip));
    public static final ConfigOption<Integer> CLASSES = declare(key("classes").intType().defaultValue(10),
            "Number of classes; labels outside [0, classes) go to the dead-letter topic", integer(2, 100_000));
    public static final ConfigOption<Integer> BATCH_SIZE = declare(key("batch-size").intType().defaultValue(Defaults.BATCH_SIZE),
            "Minibatch size of each SGD step (paper: 128)", integer(1, 65_536));
    public static final ConfigOption<Double> LR = declare(key("optim.lr").doubleType().defaultValue(Defaults.LR),
            "Base learning rate", number(0, Double.MAX_VALUE, false, true));
    public static final ConfigOption<Double> MOMENTUM = declare(key("optim.momentum").doubleType().defaultValue(OptimConfig.PAPER_MOMENTUM),
            "SGD momentum, in [0, 1)", number(0, 1, true, false));
    public static final ConfigOption<Boolean> NESTEROV = declare(key("optim.nesterov").booleanType().defaultValue(true),
            "Nesterov momentum", bool());
    public static final ConfigOption<Double> WEIGHT_DECAY = declare(key("optim.weight-decay").doubleType()
            .defaultValue(OptimConfig.PAPER_WEIGHT_DECAY), "L2 weight decay, >= 0", number(0, Double.MAX_VALUE, true, true));
    public static final ConfigOption<Schedule> SCHEDULE = declare(key("optim.schedule").enumType(Schedule.class)
            .defaultValue(Schedule.valueOf(Defaults.SCHEDULE.toUpperCase(Locale.ROOT))),
            "Learning-rate schedule over epochs of images seen: step, cosine or constant",
            new Rule<>(v -> true, "one of [step, cosine, constant]", String::strip));
    public static final ConfigOption<List<Double>> MILESTONES = declare(key("optim.milestones").doubleType().asList()
            .defaultValues(Arrays.stream(OptimConfig.PAPER_MILESTONES).boxed().toArray(Double[]::new)),
            "Epochs at which the step schedule multiplies the lr by optim.gamma, strictly increasing",
            new Rule<List<Double>>(JobConfig::increasingEpochs, "a comma-separated, strictly increasing list of epochs > 0, e.g. 60,120,160",
                    JobConfig::flowList));
    public static final ConfigOption<Double> GAMMA = declare(key("optim.gamma").doubleType().defaultValue(OptimConfig.PAPER_GAMMA),
            "Step schedule multiplier, in (0, 1]", number(0, 1, false, true));
    public static final ConfigOption<Double> EPOCHS = declare(key("optim.epochs").doubleType().defaultValue(Defaults.SCHEDULE_EPOCHS),
            "Total epochs of the schedule (cosine period)", number(0, Double.MAX_VALUE, false, true));
    public static final ConfigOption<Long> EPOCH_SIZE = declare(key("optim.epoch-size").longType().defaultValue(OptimConfig.CIFAR_EPOCH),
            "Images per epoch (the schedule and augmentation count epochs in images seen)", atLeast(1));
    public static final ConfigOption<Long> SEED = declare(key("seed").longType().defaultValue(Defaults.SEED),
            "Master seed: initial weights, augmentation and dropout derive their generators from it", atLeast(Long.MIN_VALUE));
    public static final ConfigOption<Duration> CHECKPOINT_INTERVAL = declare(key("checkpoint.interval").durationType()
            .defaultValue(Duration.ofSeconds(60)), "Flink checkpoint interval (exactly once, unaligned, retained on cancellation)",
            duration(false));
    public static final ConfigOption<String> CHECKPOINT_DIR = declare(key("checkpoint.dir").stringType()
            .defaultValue("file:///tmp/wrn-stream/checkpoints"), "Checkpoint storage URI (file://, s3://, hdfs://...)", uri("checkpoints"));
    public static final ConfigOption<String> STATE_BACKEND = declare(key("state.backend").stringType().defaultValue("rocksdb"),
            "Flink state backend: rocksdb or hashmap", oneOf("rocksdb", "hashmap"));
    public static final ConfigOption<Long> SNAPSHOT_STEPS = declare(key("snapshot.steps").longType().defaultValue(500L),
            "Emit a model snapshot for evaluation every N steps (0 = off)", atLeast(0));
    public static final ConfigOption<Duration> SNAPSHOT_INTERVAL = declare(key("snapshot.interval").durationType().defaultValue(Duration.ZERO),
            "Also emit a model snapshot when this much time passed since the last one (0s = off)", duration(true));
    public static final ConfigOption<String> EVAL_DATASET = declare(key("eval.dataset").stringType().defaultValue(""),
            "Held-out set as a dataset path (cifar10-jpeg folder or zip); empty = collect it from topic.test",
            new Rule<>(v -> true, "a dataset path or empty", String::strip));
    public static final ConfigOption<Integer> EVAL_LIMIT = declare(key("eval.limit").intType().defaultValue(10_000),
            "Most held-out images to evaluate each snapshot on", integer(1, Integer.MAX_VALUE));
    public static final ConfigOption<Integer> EVAL_BATCH_SIZE = declare(key("eval.batch-size").intType().defaultValue(200),
            "Minibatch size of evaluation", integer(1, 65_536));
    public static final ConfigOption<Long> MAX_IMAGES = declare(key("max-images").longType().defaultValue(0L),
            "Stop training after this many images (0 = no bound); the final model is written then", atLeast(0));
    public static final ConfigOption<Duration> MAX_TIME = declare(key("max-time").durationType().defaultValue(Duration.ZERO),
            "Stop training after this much training time (0s = no bound), e.g. 10min", duration(true));
    public static final ConfigOption<String> MODEL_OUTPUT = declare(key("model.output").stringType()
            .defaultValue("/tmp/wrn-stream/final.wrnmodel"), "File the trainer writes the final model to when training ends",
            nonEmpty("a file path"));
    public static final ConfigOption<Boolean> MODEL_PUBLISH = declare(key("model.publish").booleanType().defaultValue(true),
            "Publish the model of completed checkpoints: file in model.store + event on topic.model-updates (exactly once)", bool());
    public static final ConfigOption<Integer> MODEL_PUBLISH_EVERY = declare(key("model.publish-every-checkpoints").intType().defaultValue(1),
            "Publish a new model at most every N checkpoints (only when training advanced since the last one)", integer(1, Integer.MAX_VALUE));
    public static final ConfigOption<String> MODEL_STORE = declare(key("model.store").stringType().defaultValue("file:///tmp/wrn-stream/models"),
            "Model store: a directory URI of any Flink file system (file://, s3://, hdfs://...) for published model files", uri("models"));
    public static final ConfigOption<String> MODEL_ID = declare(key("model.id").stringType().defaultValue(""),
            "Id of the published model: key of its model-update events and folder in model.store; empty = the model name, e.g. wrn-16-4",
            new Rule<>(v -> v.isEmpty() || isTopicLike(v), "1-249 characters of [A-Za-z0-9._-]", String::strip));
    public static final ConfigOption<String> TOPIC_MODEL_UPDATES = declare(key("topic.model-updates").stringType()
            .defaultValue(Defaults.TOPIC_MODEL_UPDATES), "Compacted topic of model-update events (JSON, key = model.id), written exactly once",
            topicLike());
    public static final ConfigOption<String> MODEL_SIGNING_KEY_FILE = declare(key("model.signing-key-file").stringType().defaultValue(""),
            "File holding the key (>= 32 bytes) that signs model updates with HMAC-SHA256 for serve --signing-key-file; empty = unsigned",
            new Rule<>(v -> true, "a file path or empty", UnaryOperator.identity()));
    public static final ConfigOption<Integer> PARALLELISM = declare(key("parallelism").intType().defaultValue(2),
            "Parallelism of decoding and augmentation (the trainer runs with trainer.parallelism, the evaluator with 1)", integer(1, 4096));
    public static final ConfigOption<Integer> TRAINER_PARALLELISM = declare(key("trainer.parallelism").intType().defaultValue(1),
            "Data-parallel trainer ranks (one Flink subtask each; gradients all-reduced every step, libtorch only); batch-size stays the global batch",
            integer(1, 1024));
    public static final ConfigOption<Duration> TRAINER_FLUSH_INTERVAL = declare(key("trainer.flush-interval").durationType()
            .defaultValue(Duration.ofSeconds(2)),
            "With trainer.parallelism > 1: a rank that waited this long steps with the images it has (possibly none), so idle partitions never stall the others",
            duration(false));
    public static final ConfigOption<String> TRAINER_OVERLAP = declare(key("trainer.overlap").stringType().defaultValue("auto"),
            "Whether the engine steps on a thread of its own while the trainer assembles the next batch: true, false or auto "
                    + "(true when the trainer trains on a GPU); a trainer that trains alone (trainer.parallelism=1)",
            oneOf("auto", "true", "false"));
    public static final ConfigOption<Duration> TRAINER_GROUP_TIMEOUT = declare(key("trainer.group-timeout").durationType()
            .defaultValue(Duration.ofSeconds(90)),
            "With trainer.parallelism > 1: longest wait for the ranks to meet or for one all-reduce; keep it below task.cancellation.timeout (3min)",
            duration(false));
    public static final ConfigOption<String> TRAINER_GROUP_HOST = declare(key("trainer.group-host").stringType().defaultValue("auto"),
            "With trainer.parallelism > 1: the address rank 0 announces for its group store (auto: this TaskManager's host address)",
            nonEmpty("a host name or address, or auto"));
    public static final ConfigOption<Long> PROGRESS_STEPS = declare(key("progress.steps").longType().defaultValue(10L),
            "Log a progress line every N training steps", atLeast(1));
    public static final ConfigOption<Duration> TRANSACTION_TIMEOUT = declare(key("results.transaction-timeout").durationType()
            .defaultValue(Duration.ofMinutes(10)), "Kafka transaction timeout of the exactly-once results sink; must stay below the broker's "
                    + "transaction.max.timeout.ms (default 15min) and above checkpoint.interval", duration(false));
    public static final ConfigOption<String> TRANSACTIONAL_ID_PREFIX = declare(key("results.transactional-id-prefix").stringType()
            .defaultValue("wrn-results"), "Transactional id prefix of the exactly-once results sink (unique per job on a cluster)", topicLike());
    public static final ConfigOption<String> PROMETHEUS_PORT = declare(key("metrics.prometheus.port").stringType()
            .defaultValue(DEFAULT_PROMETHEUS_PORTS), "Port or range of the Prometheus reporter of an embedded/local Flink (0 = off); a cluster "
                    + "uses its own metrics.reporter.prom.* settings",
            new Rule<>(JobConfig::isPortRange, "0 (off), a port in [1, 65535] or a range low-high such as 9249-9259", String::strip));
    public static final ConfigOption<Integer> RESTART_ATTEMPTS = declare(key("restart.attempts").intType().defaultValue(10),
            "Restarts after failures before the job fails for good with the last error (exponential back-off from "
                    + "restart.delay up to 1 min; the count starts again after 10 min without a failure)", integer(0, 1000));
    public static final ConfigOption<Duration> RESTART_DELAY = declare(key("restart.delay").durationType().defaultValue(Duration.ofSeconds(1)),
            "Back-off before the first restart after a failure; it doubles with each further one, up to 1 min", duration(false));
    public static final ConfigOption<String> RESTORE = declare(key("restore").stringType().defaultValue(""),
            "Start from a retained checkpoint or savepoint: its path/URI, or latest (the newest one retained under checkpoint.dir); "
                    + "empty = no state", new Rule<>(v -> true, "a checkpoint path, latest or empty", String::strip));
    public static final ConfigOption<Boolean> FRESH = declare(key("fresh").booleanType().defaultValue(false),
            "Start a new model although group-id already has committed offsets on topic.train (it then trains on from those offsets); "
                    + "without it such a start is refused", bool());
    public static final ConfigOption<Boolean> FAIL_AFTER_CHECKPOINT = declare(key("debug.fail-after-checkpoint").booleanType().defaultValue(false),
            "Testing only: the trainer throws once, on its first attempt, after the first completed checkpoint", bool());
    public static final ConfigOption<Integer> FAIL_RANK = declare(key("debug.fail-rank").intType().defaultValue(-1),
            "Testing only: with debug.fail-after-checkpoint, only this trainer rank throws (the others see their peer die); -1 = every rank",
            integer(-1, 1023));
    public static final ConfigOption<Boolean> FAIL_AFTER_PUBLISH = declare(key("debug.fail-after-publish").booleanType().defaultValue(false),
            "Testing only: the model publisher throws once, on its first attempt, right after emitting a model update "
                    + "that follows a completed one, so that update's checkpoint never completes", bool());
    public static final ConfigOption<List<Long>> FAIL_AT_STEPS = declare(key("debug.fail-at-steps").longType().asList().defaultValues(),
            "Testing only: on its k-th attempt (0-based) the trainer throws after the first step at or past the k-th value, once a "
                    + "checkpoint of that attempt has completed (it holds training until one does), e.g. 3,7,10 for three failures at "
                    + "different points; strictly increasing, empty = off",
            new Rule<List<Long>>(JobConfig::increasingSteps,
                    "empty or a comma-separated, strictly increasing list of steps >= 1, e.g. 3,7,10", JobConfig::flowList));

    public static final ConfigOption<Long> CHECKPOINT_EVERY_STEPS = declare(key("debug.checkpoint-every-steps").longType().defaultValue(0L),
            "Testing only: after every N-th step the trainer holds, training nothing, until a checkpoint completes (at most 4 "
                    + "checkpoint intervals, 2 s or more), so a short job takes checkpoints however fast it trains (fault tests); 0 = off", atLeast(0));

    /** Every declared option, in declaration order. */
    public static final List<ConfigOption<?>> OPTIONS = DECLARED.values().stream().<ConfigOption<?>>map(Declared::option).toList();

    private final Map<String, String> raw;
    // Parsed values; a deserialised copy re-parses the raw text (readResolve), so only text is serialised.
    private final transient Map<String, Object> values;
    private final Map<String, String> kafka;
    private final Map<String, String> flink;

    private JobConfig(Map<String, String> given) {
        Map<String, String> all = new LinkedHashMap<>();
        Map<String, String> passthrough = new TreeMap<>();
        Map<String, String> flinkKeys = new TreeMap<>();
        Map<String, String> normalised = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : given.entrySet()) {
            String k = e.getKey();
            if (k.startsWith(KAFKA_PREFIX)) {
                if (k.length() == KAFKA_PREFIX.length()) {
                    throw new IllegalArgumentException("Invalid option 'kafka.': must name a Kafka client property, e.g. kafka.security.protocol");
                }
                passthrough.put(k.substring(KAFKA_PREFIX.length()), e.getValue());
            } else if (k.startsWith(FLINK_PREFIX)) {
                String f = k.substring(FLINK_PREFIX.length());
                if (!f.matches("[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)+")) {
                    throw new IllegalArgumentException("Invalid option '" + k + "': must name a Flink configuration key, e.g."
                            + " flink.state.checkpoints.num-retained");
                }
                String unknown = FlinkKeys.problem(f);
                if (unknown != null) throw new IllegalArgumentException(unknown);
                flinkKeys.put(f, e.getValue());
            } else if (!DECLARED.containsKey(k)) {
                throw new IllegalArgumentException("Unknown option '" + k + "': must be one of "
                        + String.join(", ", DECLARED.keySet()) + ", kafka.<client property> or"
                        + " flink.<Flink configuration key>");
            } else {
                String v = e.getValue() == null ? "" : e.getValue();
                all.put(k, v);
                normalised.put(k, DECLARED.get(k).rule().normalize().apply(v));
            }
        }
        // Flink parses every given value with its own converters; defaults stay typed.
        Configuration flink = Configuration.fromMap(normalised);
        Map<String, Object> parsed = new LinkedHashMap<>();
        Map<String, String> effective = new LinkedHashMap<>();
        for (Declared<?> d : DECLARED.values()) {
            String k = d.option().key();
            effective.put(k, all.containsKey(k) ? all.get(k) : defaultText(d.option()));
            parsed.put(k, parse(d, flink, effective.get(k)));
        }
        this.raw = Collections.unmodifiableMap(effective);
        this.values = parsed;
        this.kafka = Collections.unmodifiableMap(new TreeMap<>(passthrough));
        this.flink = Collections.unmodifiableMap(flinkKeys);
        // Cross-option rules.
        if (get(SNAPSHOT_STEPS) == 0 && get(SNAPSHOT_INTERVAL).isZero()) {
            throw new IllegalStateException("snapshot.steps=0 and snapshot.interval=0s: at least one must be > 0 so that "
                    + "the model is evaluated while it trains");
        }
        if (get(TRANSACTION_TIMEOUT).compareTo(get(CHECKPOINT_INTERVAL)) <= 0) {
            throw new IllegalStateException("results.transaction-timeout=" + raw.get(TRANSACTION_TIMEOUT.key())
                    + " must be longer than checkpoint.interval=" + raw.get(CHECKPOINT_INTERVAL.key())
                    + ": a transaction stays open from one checkpoint to the next");
        }
        if (get(TRAINER_PARALLELISM) > 1 && !"libtorch".equals(get(ENGINE))) {
            throw new IllegalStateException("trainer.parallelism=" + get(TRAINER_PARALLELISM) + " needs engine=libtorch (engine=" + get(ENGINE)
                    + " trains with one rank only): set engine=libtorch or trainer.parallelism=1");
        }
        if (get(TRAINER_PARALLELISM) > 1 && "true".equals(get(TRAINER_OVERLAP))) {
            throw new IllegalStateException("trainer.overlap=true with trainer.parallelism=" + get(TRAINER_PARALLELISM)
                    + ": data-parallel ranks step in lock-step; set trainer.overlap=auto or false, or trainer.parallelism=1");
        }
        if (get(TRAINER_PARALLELISM) > get(BATCH_SIZE)) {
            throw new IllegalStateException("trainer.parallelism=" + get(TRAINER_PARALLELISM) + " is larger than batch-size=" + get(BATCH_SIZE)
                    + ": every rank needs at least one image of each global batch");
        }
        if (get(TRAINER_PARALLELISM) > 1 && get(TRAINER_GROUP_TIMEOUT).compareTo(Duration.ofMinutes(3)) >= 0) {
            throw new IllegalStateException("trainer.group-timeout=" + raw.get(TRAINER_GROUP_TIMEOUT.key())
                    + " must stay below Flink's task.cancellation.timeout (3min): a rank stuck in an all-reduce cannot be interrupted");
        }
        trainConfig(); // validates the model and optimiser combination (e.g. nesterov with momentum 0)
    }

    private static <T> T parse(Declared<T> d, Configuration flink, String text) {
        T value;
        try {
            value = flink.get(d.option());
        } catch (IllegalArgumentException e) {
            throw invalid(d.option().key(), text, d.rule().allowed());
        }
        boolean ok;
        try {
            ok = value != null && d.rule().ok().test(value);
        } catch (NumberFormatException e) {
            ok = false;
        }
        if (!ok) throw invalid(d.option().key(), text, d.rule().allowed());
        return value;
    }

    /** The defaults, overridden by {@code values} (keys as in {@link #OPTIONS} or {@code kafka.*}). */
    public static JobConfig of(Map<String, String> values) {
        return new JobConfig(new LinkedHashMap<>(values));
    }

    /** The defaults. */
    public static JobConfig defaults() {
        return of(Map.of());
    }

    /**
     * Parses {@code --key value} / {@code --key=value} arguments; {@code --config FILE} first loads a file of
     * {@code key: value} lines, which the other arguments then override.
     */
    public static JobConfig fromArgs(String... args) {
        return fromFlink(new Configuration(), args);
    }

    /**
     * The options set in {@code flink} under {@value #CLUSTER_PREFIX} (a cluster's {@code config.yaml}, a FlinkDeployment's
     * {@code flinkConfiguration}), overridden by a {@code --config FILE}, overridden by the other arguments. Other keys
     * of {@code flink} are Flink's own and are ignored here.
     */
    public static JobConfig fromFlink(Configuration flink, String... args) {
        Map<String, String> merged = new LinkedHashMap<>();
        new DelegatingConfiguration(flink, CLUSTER_PREFIX).toMap().forEach((k, v) -> merged.put(k, v));
        Map<String, String> cli = new LinkedHashMap<>();
        Path file = null;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (!a.startsWith("--") || a.length() == 2) {
                throw new IllegalArgumentException("Invalid argument '" + a + "': must be --key value or --key=value");
            }
            String key;
            String value;
            int eq = a.indexOf('=');
            if (eq > 0) {
                key = a.substring(2, eq);
                value = a.substring(eq + 1);
            } else {
                key = a.substring(2);
                if (i + 1 >= args.length) {
                    throw new IllegalArgumentException("Missing value for --" + key + ": must be followed by a value");
                }
                value = args[++i];
            }
            if (key.equals("config")) {
                file = Path.of(value);
            } else {
                cli.put(key, value);
            }
        }
        if (file != null) merged.putAll(readFile(file));
        merged.putAll(cli);
        return of(merged);
    }

    /**
     * The job's configuration as {@link org.apache.flink.streaming.api.environment.StreamExecutionEnvironment}'s
     * cluster sees it: the Flink configuration of {@code FLINK_CONF_DIR} (empty when unset), then {@code args}.
     */
    public static JobConfig fromClusterAndArgs(String... args) {
        return fromFlink(GlobalConfiguration.loadConfiguration(), args);
    }

    /** Loads a file of {@code key: value} or {@code key=value} lines ({@code #} starts a comment). */
    public static JobConfig fromFile(Path file) {
        return of(readFile(file));
    }

    static Map<String, String> readFile(Path file) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalArgumentException("Cannot read config file " + file + ": " + e.getMessage(), e);
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (int n = 0; n < lines.size(); n++) {
            String line = lines.get(n).strip();
            if (line.isEmpty() || line.startsWith("#")) continue;
            int colon = line.indexOf(':');
            int eq = line.indexOf('=');
            int sep = colon < 0 ? eq : eq < 0 ? colon : Math.min(colon, eq);
            if (sep <= 0) {
                throw new IllegalArgumentException("Invalid line " + (n + 1) + " of " + file + ": '" + line + "' must be key: value");
            }
            String value = line.substring(sep + 1).strip();
            if (value.length() >= 2 && (value.startsWith("\"") && value.endsWith("\"") || value.startsWith("'") && value.endsWith("'"))) {
                value = value.substring(1, value.length() - 1);
            }
            out.put(line.substring(0, sep).strip(), value);
        }
        return out;
    }

    /** The parsed value of {@code option}, one of {@link #OPTIONS}. */
    @SuppressWarnings("unchecked")
    public <T> T get(ConfigOption<T> option) {
        if (!values.containsKey(option.key())) throw new IllegalArgumentException("Not a job option: " + option.key());
        return (T) values.get(option.key());
    }

    /** The effective value of every option as text, defaults included. */
    public Map<String, String> raw() {
        return raw;
    }

    /**
     * The Flink configuration given as {@code flink.*}, prefix removed (e.g. {@code state.checkpoints.num-retained}); the
     * job's Flink settings apply them last, so they override the job's own choices.
     */
    public Map<String, String> flinkOptions() {
        return flink;
    }

    /** {@link #FAIL_AT_STEPS} as an array. */
    public long[] failAtSteps() {
        return get(FAIL_AT_STEPS).stream().mapToLong(Long::longValue).toArray();
    }

    /** The Kafka client properties given as {@code kafka.*}, prefix removed, e.g. {@code security.protocol}. */
    public Properties kafkaProperties() {
        Properties p = new Properties();
        p.putAll(kafka);
        return p;
    }

    /** A copy of this config with some values replaced (validated again). */
    public JobConfig with(Map<String, String> overrides) {
        Map<String, String> m = new LinkedHashMap<>(raw);
        kafka.forEach((k, v) -> m.put(KAFKA_PREFIX + k, v));
        flink.forEach((k, v) -> m.put(FLINK_PREFIX + k, v));
        m.putAll(overrides);
        return of(m);
    }

    private Object readResolve() {
        return with(Map.of());
    }

    /** A copy with one value replaced. */
    public JobConfig with(String key, String value) {
        return with(Map.of(key, value));
    }

    /** {@link #INPUT_SHAPE} as {C, H, W}. */
    public int[] inputShape() {
        return shapeOf(get(INPUT_SHAPE));
    }

    /** The model: {@link #MODEL} with {@link #DROPOUT}, {@link #INPUT_SHAPE} and {@link #CLASSES}. */
    public WrnConfig wrn() {
        int[] s = inputShape();
        return WrnConfig.parse(get(MODEL)).withDropout(get(DROPOUT)).withInput(s[0], s[1], s[2], get(CLASSES));
    }

    /** The id of the published model: {@link #MODEL_ID}, or the model name ({@code wrn-16-4}) when empty. */
    public String modelId() {
        String id = get(MODEL_ID);
        return id.isEmpty() ? WrnConfig.parse(get(MODEL)).name() : id;
    }

    /** The optimiser, mapped from the {@code optim.*} options. */
    public OptimConfig optim() {
        double[] milestones = get(MILESTONES).stream().mapToDouble(Double::doubleValue).toArray();
        return new OptimConfig(get(LR), get(MOMENTUM), get(NESTEROV), get(WEIGHT_DECAY), true, get(SCHEDULE), milestones,
                get(GAMMA), get(EPOCHS), get(EPOCH_SIZE));
    }

    /** The engine configuration the trainer builds its engine from. */
    public TrainConfig trainConfig() {
        return new TrainConfig(wrn(), optim(), get(BATCH_SIZE), get(SEED), get(ENGINE), get(PRECISION), "kafka:" + get(TOPIC_TRAIN));
    }

    /** One {@code key = value} line per option (Kafka passthrough included, secrets masked), for the start-up log. */
    public List<String> logLines() {
        List<String> out = new ArrayList<>();
        raw.forEach((k, v) -> out.add(k + " = " + v));
        kafka.forEach((k, v) -> out.add(KAFKA_PREFIX + k + " = " + (isSecret(k) ? "******" : v)));
        flink.forEach((k, v) -> out.add(FLINK_PREFIX + k + " = " + (isSecret(k) ? "******" : v)));
        return out;
    }

    private static boolean isSecret(String key) {
        String k = key.toLowerCase(Locale.ROOT);
        return k.contains("password") || k.contains("jaas") || k.contains("secret") || k.contains("key");
    }

    /** The one-line description of a declared option. */
    public static String description(ConfigOption<?> option) {
        return declared(option).description();
    }

    /** The default of a declared option as a user would write it ({@code 60s} is written {@code 1min}; lists comma-separated). */
    public static String defaultText(ConfigOption<?> option) {
        return text(option.defaultValue());
    }

    /** The {@code --help} text: one line per option with its default. */
    public static String help() {
        int w = OPTIONS.stream().mapToInt(o -> o.key().length()).max().orElse(10) + 4;
        StringBuilder sb = new StringBuilder();
        for (ConfigOption<?> o : OPTIONS) {
            String d = defaultText(o);
            sb.append(String.format(Locale.ROOT, "  --%-" + w + "s%s (default: %s)%n", o.key(), description(o), d.isEmpty() ? "empty" : d));
        }
        sb.append(String.format(Locale.ROOT, "  --%-" + w + "s%s%n", "kafka.<property>",
                "Passed to every Kafka client (security.protocol, sasl.*, ssl.*, ...)"));
        sb.append(String.format(Locale.ROOT, "  --%-" + w + "s%s%n", "flink.<key>",
                "Flink configuration key, passed to the job's Flink settings (e.g. flink.state.checkpoints.num-retained); a key"
                        + " Flink does not declare is refused, with near matches"));
        sb.append(String.format(Locale.ROOT, "  --%-" + w + "s%s%n", "config FILE", "Read key: value lines first; arguments override them"));
        sb.append(String.format(Locale.ROOT, "  Every option can also be set in the cluster's Flink configuration as %s<key>.%n", CLUSTER_PREFIX));
        return sb.toString();
    }

    /** The options as a Markdown table (key, default, description), for the README. */
    public static String markdownTable() {
        StringBuilder sb = new StringBuilder("| Key | Default | Description |\n|---|---|---|\n");
        for (ConfigOption<?> o : OPTIONS) {
            String d = defaultText(o);
            sb.append("| `").append(o.key()).append("` | ").append(d.isEmpty() ? "(empty)" : "`" + d + "`")
                    .append(" | ").append(description(o).replace("|", "\\|")).append(" |\n");
        }
        sb.append("| `kafka.<property>` | | Passed to every Kafka client (security.protocol, sasl.*, ssl.*, ...) |\n");
        sb.append("| `flink.<key>` | | Flink configuration key, applied last to the job's Flink settings (e.g. `flink.state.checkpoints.num-retained`);"
                + " a key that no `*Options` class of Flink on the class path declares is refused, naming near matches (keys under "
                + String.join(", ", FlinkKeys.UNCHECKED_PREFIXES.stream().map(k -> "`" + k + "`").toList())
                + " pass unchecked: Flink reads them by pattern or declares them in modules the job need not hold) |\n");
        return sb.toString();
    }

    private static Declared<?> declared(ConfigOption<?> option) {
        Declared<?> d = DECLARED.get(option.key());
        if (d == null || d.option() != option) throw new IllegalArgumentException("Not a job option: " + option.key());
        return d;
    }

    private static <T> ConfigOption<T> declare(ConfigOption<T> option, String description, Rule<T> rule) {
        if (DECLARED.containsKey(option.key())) throw new IllegalStateException("Option " + option.key() + " declared twice");
        ConfigOption<T> described = option.withDescription(description);
        DECLARED.put(option.key(), new Declared<>(described, description, rule));
        return described;
    }

    // ---- rules: each names what is allowed; the error then names the key, the value and that ----

    private static IllegalArgumentException invalid(String key, String v, String allowed) {
        return new IllegalArgumentException("Invalid value '" + v + "' for " + key + ": must be " + allowed);
    }

    private static Rule<String> nonEmpty(String allowed) {
        return new Rule<>(v -> !v.isEmpty(), "non-empty (" + allowed + ")", UnaryOperator.identity());
    }

    private static boolean isTopicLike(String v) {
        return v.matches("[A-Za-z0-9._-]{1,249}");
    }

    private static Rule<String> topicLike() {
        return new Rule<>(JobConfig::isTopicLike, "1-249 characters of [A-Za-z0-9._-]", UnaryOperator.identity());
    }

    /** One of {@code allowed}, case-insensitively; the value is kept in lower case. */
    private static Rule<String> oneOf(String... allowed) {
        List<String> a = List.of(allowed);
        return new Rule<>(a::contains, "one of " + Arrays.toString(allowed), v -> v.strip().toLowerCase(Locale.ROOT));
    }

    private static Rule<Boolean> bool() {
        return new Rule<>(v -> true, "one of [true, false]", String::strip);
    }

    private static Rule<Integer> integer(int min, int max) {
        return new Rule<>(i -> i >= min && i <= max,
                max == Integer.MAX_VALUE ? "an integer >= " + min : "an integer in [" + min + ", " + max + "]", String::strip);
    }

    private static Rule<Long> atLeast(long min) {
        return new Rule<>(l -> l >= min, min == Long.MIN_VALUE ? "an integer" : "an integer >= " + min, String::strip);
    }

    private static Rule<Double> number(double lo, double hi, boolean loInclusive, boolean hiInclusive) {
        String range = (loInclusive ? "[" : "(") + text(lo) + ", " + (hi == Double.MAX_VALUE ? "inf" : text(hi))
                + (hiInclusive && hi != Double.MAX_VALUE ? "]" : ")");
        return new Rule<>(d -> Double.isFinite(d) && (loInclusive ? d >= lo : d > lo) && (hiInclusive ? d <= hi : d < hi),
                "a finite number in " + range, String::strip);
    }

    private static Rule<Duration> duration(boolean zeroAllowed) {
        return new Rule<>(d -> zeroAllowed ? !d.isNegative() : !d.isNegative() && !d.isZero(),
                "a duration " + (zeroAllowed ? ">= 0" : "> 0") + " such as 500ms, 60s, 10min or 2h", String::strip);
    }

    private static Rule<String> uri(String example) {
        return new Rule<>(v -> v.matches("[a-zA-Z][a-zA-Z0-9+.-]*://.+"),
                "a URI with a scheme, e.g. file:///data/" + example + " or s3://bucket/path", String::strip);
    }

    /** {@code 0}, a port in [1, 65535] or a range {@code low-high} of such ports with low <= high. */
    private static boolean isPortRange(String v) {
        Matcher m = Pattern.compile("(\\d{1,5})(?:-(\\d{1,5}))?").matcher(v);
        if (!m.matches()) return false;
        int low = Integer.parseInt(m.group(1));
        int high = m.group(2) == null ? low : Integer.parseInt(m.group(2));
        if (low == 0 && m.group(2) == null) return true;
        return low >= 1 && high <= 65535 && low <= high;
    }

    /** Largest height and width of {@link #INPUT_SHAPE}: the dataset decoder's bound (ImageLimits.DEFAULT). */
    public static final int MAX_SIDE = 4096;
    /** Largest channel count of {@link #INPUT_SHAPE}: the image record format's u8. */
    public static final int MAX_CHANNELS = 255;

    /** Whether {@code v} is a shape; one beyond the decoder's bounds fails with its own message. */
    private static boolean isShape(String v) {
        int[] s = shapeOf(v);
        if (s != null && (s[0] > MAX_CHANNELS || s[1] > MAX_SIDE || s[2] > MAX_SIDE)) {
            throw invalid("input.shape", v, "CxHxW with C <= " + MAX_CHANNELS + " and H, W <= " + MAX_SIDE
                    + " (the largest images the decoder accepts), e.g. 3x32x32 or 1x28x28");
        }
        return s != null;
    }

    private static boolean increasingSteps(List<Long> s) {
        for (int i = 0; i < s.size(); i++) if (!(s.get(i) >= 1 && (i == 0 || s.get(i) > s.get(i - 1)))) return false;
        return true;
    }

    /** {C, H, W} of a shape {@code CxHxW} with C >= 1 and H, W >= 8, else null. */
    private static int[] shapeOf(String v) {
        Matcher m = Pattern.compile("(\\d{1,3})x(\\d{1,5})x(\\d{1,5})").matcher(v.toLowerCase(Locale.ROOT));
        if (m.matches()) {
            int c = Integer.parseInt(m.group(1)), h = Integer.parseInt(m.group(2)), w = Integer.parseInt(m.group(3));
            if (c >= 1 && h >= 8 && w >= 8) return new int[] {c, h, w};
        }
        return null;
    }

    private static boolean increasingEpochs(List<Double> m) {
        for (int i = 0; i < m.size(); i++) {
            if (!(Double.isFinite(m.get(i)) && m.get(i) > 0 && (i == 0 || m.get(i) > m.get(i - 1)))) return false;
        }
        return true;
    }

    /** {@code 60,120,160} as the YAML flow list {@code [60,120,160]} Flink reads; Flink's own forms pass unchanged. */
    private static String flowList(String v) {
        String s = v.strip();
        return s.contains(",") && !s.startsWith("[") && !s.contains(";") ? "[" + s + "]" : s;
    }

    /** A typed value as a user would write it. */
    private static String text(Object v) {
        if (v instanceof Double d) return BigDecimal.valueOf(d).stripTrailingZeros().toPlainString();
        if (v instanceof Duration d) return durationText(d);
        if (v instanceof Enum<?> e) return e.name().toLowerCase(Locale.ROOT);
        if (v instanceof List<?> l) return l.stream().map(JobConfig::text).collect(Collectors.joining(","));
        return String.valueOf(v);
    }

    /** The largest exact unit: 10min, 1min, 30s, 500ms, 2h, 0s. */
    private static String durationText(Duration d) {
        long ms = d.toMillis();
        if (ms == 0) return "0s";
        if (ms % 3_600_000 == 0) return ms / 3_600_000 + "h";
        if (ms % 60_000 == 0) return ms / 60_000 + "min";
        if (ms % 1000 == 0) return ms / 1000 + "s";
        return ms + "ms";
    }

    @Override
    public String toString() {
        return "JobConfig" + raw;
    }
}
