package io.wrnstream.jobs.config;

import io.wrnstream.model.engine.TrainConfig;
import io.wrnstream.model.optim.OptimConfig;
import io.wrnstream.model.optim.Schedule;
import io.wrnstream.model.wrn.WrnConfig;
import java.io.IOException;
import java.io.Serializable;
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
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * The one validated, immutable configuration of the streaming training job.
 *
 * <p>Every option is declared once in {@link #OPTIONS} with its default and a one-line description; {@link #help()}
 * and {@link #markdownTable()} are generated from that table. Values come from a file of {@code key: value} (or
 * {@code key=value}) lines and/or {@code --key value} arguments, arguments overriding the file. Keys starting with
 * {@code kafka.} are passed, prefix removed, to every Kafka client the job makes (source, sinks, admin): use them
 * for {@code security.protocol}, {@code sasl.*} and {@code ssl.*}.
 *
 * <pre>{@code
 * JobConfig c = JobConfig.fromArgs("--config", "job.yaml", "--batch-size", "64");
 * c.logLines().forEach(LOG::info);
 * }</pre>
 *
 * <p>A bad value fails at once naming the key, the value and what is allowed; conflicting values fail with
 * IllegalStateException.
 */
public final class JobConfig implements Serializable {
    private static final long serialVersionUID = 1L;

    /** Prefix of the Kafka client properties passed through unchanged (minus the prefix). */
    public static final String KAFKA_PREFIX = "kafka.";
    /** Prefix of Flink configuration keys passed through unchanged (minus the prefix), e.g. {@code flink.state.checkpoints.num-retained}. */
    public static final String FLINK_PREFIX = "flink.";

    private static final List<Option<?>> DECLARED = new ArrayList<>();

    public static final Option<String> BOOTSTRAP_SERVERS = declare("bootstrap-servers", "localhost:9092",
            "Kafka bootstrap servers (host:port[,host:port...])", v -> nonEmpty("bootstrap-servers", v, "host:port[,host:port...]"));
    public static final Option<String> GROUP_ID = declare("group-id", "wrn-trainer",
            "Kafka consumer group of the training source (offsets are committed on checkpoints)", v -> topicLike("group-id", v));
    public static final Option<String> TOPIC_TRAIN = declare("topic.train", "wrn.train",
            "Topic of training images (ImageRecord values, key = sample id)", v -> topicLike("topic.train", v));
    public static final Option<String> TOPIC_TEST = declare("topic.test", "wrn.test",
            "Topic of held-out images, read once by the evaluator when eval.dataset is empty", v -> topicLike("topic.test", v));
    public static final Option<String> TOPIC_RESULTS = declare("topic.results", "wrn.results",
            "Topic the evaluation records are written to (exactly once, JSON)", v -> topicLike("topic.results", v));
    public static final Option<String> TOPIC_DEAD_LETTER = declare("topic.dead-letter", "wrn.dead-letter",
            "Topic for undecodable or invalid training records (original key/value, reason in header wrn.dlq.reason)",
            v -> topicLike("topic.dead-letter", v));
    public static final Option<Boolean> SOURCE_BOUNDED = declare("source.bounded", "false",
            "Stop reading the training topic at the offsets that are latest when the job starts (bounded run)",
            v -> bool("source.bounded", v));
    public static final Option<String> SOURCE_START = declare("source.start", "committed",
            "Where a fresh job starts reading: committed (group offsets, else earliest) or earliest",
            v -> oneOf("source.start", v, "committed", "earliest"));
    public static final Option<WrnConfig> MODEL = declare("model", "wrn-16-4",
            "Model wrn-D-K (D = 6n+4, K >= 1)", WrnConfig::parse);
    public static final Option<Double> DROPOUT = declare("dropout", "0.0",
            "Dropout between the convolutions of a block, in [0, 1) (paper: 0.3)", v -> dbl("dropout", v, 0, 1, true, false));
    public static final Option<String> ENGINE = declare("engine", "dl4j",
            "Numeric engine of the trainer: dl4j or libtorch", v -> oneOf("engine", v, TrainConfig.ENGINES.toArray(String[]::new)));
    public static final Option<String> PRECISION = declare("precision", "auto",
            "Training precision: fp32, bf16 (engine libtorch), or auto: bf16 for libtorch on a GPU or a CPU with AVX-512-BF16/AMX, else fp32",
            v -> oneOf("precision", v, "auto", "fp32", "bf16"));
    public static final Option<int[]> INPUT_SHAPE = declare("input.shape", "3x32x32",
            "Image shape CxHxW every training record must have (others go to the dead-letter topic)", JobConfig::shape);
    public static final Option<Integer> CLASSES = declare("classes", "10",
            "Number of classes; labels outside [0, classes) go to the dead-letter topic", v -> integer("classes", v, 2, 100_000));
    public static final Option<Integer> BATCH_SIZE = declare("batch-size", String.valueOf(TrainConfig.PAPER_BATCH),
            "Minibatch size of each SGD step (paper: 128)", v -> integer("batch-size", v, 1, 65_536));
    public static final Option<Double> LR = declare("optim.lr", String.valueOf(OptimConfig.PAPER_LR),
            "Base learning rate", v -> dbl("optim.lr", v, 0, Double.MAX_VALUE, false, true));
    public static final Option<Double> MOMENTUM = declare("optim.momentum", String.valueOf(OptimConfig.PAPER_MOMENTUM),
            "SGD momentum, in [0, 1)", v -> dbl("optim.momentum", v, 0, 1, true, false));
    public static final Option<Boolean> NESTEROV = declare("optim.nesterov", "true",
            "Nesterov momentum", v -> bool("optim.nesterov", v));
    public static final Option<Double> WEIGHT_DECAY = declare("optim.weight-decay", String.valueOf(OptimConfig.PAPER_WEIGHT_DECAY),
            "L2 weight decay, >= 0", v -> dbl("optim.weight-decay", v, 0, Double.MAX_VALUE, true, true));
    public static final Option<Schedule> SCHEDULE = declare("optim.schedule", "step",
            "Learning-rate schedule over epochs of images seen: step, cosine or constant", JobConfig::schedule);
    public static final Option<double[]> MILESTONES = declare("optim.milestones", "60,120,160",
            "Epochs at which the step schedule multiplies the lr by optim.gamma, strictly increasing", JobConfig::milestones);
    public static final Option<Double> GAMMA = declare("optim.gamma", String.valueOf(OptimConfig.PAPER_GAMMA),
            "Step schedule multiplier, in (0, 1]", v -> dbl("optim.gamma", v, 0, 1, false, true));
    public static final Option<Double> EPOCHS = declare("optim.epochs", "200",
            "Total epochs of the schedule (cosine period)", v -> dbl("optim.epochs", v, 0, Double.MAX_VALUE, false, true));
    public static final Option<Long> EPOCH_SIZE = declare("optim.epoch-size", String.valueOf(OptimConfig.CIFAR_EPOCH),
            "Images per epoch (the schedule and augmentation count epochs in images seen)", v -> lng("optim.epoch-size", v, 1));
    public static final Option<Long> SEED = declare("seed", "42",
            "Master seed: initial weights, augmentation and dropout derive their generators from it", v -> lng("seed", v, Long.MIN_VALUE));
    public static final Option<Duration> CHECKPOINT_INTERVAL = declare("checkpoint.interval", "60s",
            "Flink checkpoint interval (exactly once, unaligned, retained on cancellation)", v -> duration("checkpoint.interval", v, false));
    public static final Option<String> CHECKPOINT_DIR = declare("checkpoint.dir", "file:///tmp/wrn-stream/checkpoints",
            "Checkpoint storage URI (file://, s3://, hdfs://...)", JobConfig::uri);
    public static final Option<String> STATE_BACKEND = declare("state.backend", "rocksdb",
            "Flink state backend: rocksdb or hashmap", v -> oneOf("state.backend", v, "rocksdb", "hashmap"));
    public static final Option<Long> SNAPSHOT_STEPS = declare("snapshot.steps", "500",
            "Emit a model snapshot for evaluation every N steps (0 = off)", v -> lng("snapshot.steps", v, 0));
    public static final Option<Duration> SNAPSHOT_INTERVAL = declare("snapshot.interval", "0s",
            "Also emit a model snapshot when this much time passed since the last one (0s = off)",
            v -> duration("snapshot.interval", v, true));
    public static final Option<String> EVAL_DATASET = declare("eval.dataset", "",
            "Held-out set as a dataset path (cifar10-jpeg folder or zip); empty = collect it from topic.test", v -> v);
    public static final Option<Integer> EVAL_LIMIT = declare("eval.limit", "10000",
            "Most held-out images to evaluate each snapshot on", v -> integer("eval.limit", v, 1, Integer.MAX_VALUE));
    public static final Option<Integer> EVAL_BATCH_SIZE = declare("eval.batch-size", "200",
            "Minibatch size of evaluation", v -> integer("eval.batch-size", v, 1, 65_536));
    public static final Option<Long> MAX_IMAGES = declare("max-images", "0",
            "Stop training after this many images (0 = no bound); the final model is written then", v -> lng("max-images", v, 0));
    public static final Option<Duration> MAX_TIME = declare("max-time", "0s",
            "Stop training after this much training time (0s = no bound), e.g. 10min", v -> duration("max-time", v, true));
    public static final Option<String> MODEL_OUTPUT = declare("model.output", "/tmp/wrn-stream/final.wrnmodel",
            "File the trainer writes the final model to when training ends", v -> nonEmpty("model.output", v, "a file path"));
    public static final Option<Boolean> MODEL_PUBLISH = declare("model.publish", "true",
            "Publish the model of completed checkpoints: file in model.store + event on topic.model-updates (exactly once)",
            v -> bool("model.publish", v));
    public static final Option<Integer> MODEL_PUBLISH_EVERY = declare("model.publish-every-checkpoints", "1",
            "Publish a new model at most every N checkpoints (only when training advanced since the last one)",
            v -> integer("model.publish-every-checkpoints", v, 1, Integer.MAX_VALUE));
    public static final Option<String> MODEL_STORE = declare("model.store", "file:///tmp/wrn-stream/models",
            "Model store: a directory URI of any Flink file system (file://, s3://, hdfs://...) for published model files",
            v -> uri("model.store", v));
    public static final Option<String> MODEL_ID = declare("model.id", "",
            "Id of the published model: key of its model-update events and folder in model.store; empty = the model name, e.g. wrn-16-4",
            v -> v.isEmpty() ? v : topicLike("model.id", v));
    public static final Option<String> TOPIC_MODEL_UPDATES = declare("topic.model-updates", "wrn.model-updates",
            "Compacted topic of model-update events (JSON, key = model.id), written exactly once",
            v -> topicLike("topic.model-updates", v));
    public static final Option<String> MODEL_SIGNING_KEY_FILE = declare("model.signing-key-file", "",
            "File holding the key (>= 32 bytes) that signs model updates with HMAC-SHA256 for serve --signing-key-file; empty = unsigned",
            v -> v);
    public static final Option<Integer> PARALLELISM = declare("parallelism", "2",
            "Parallelism of decoding and augmentation (the trainer runs with trainer.parallelism, the evaluator with 1)",
            v -> integer("parallelism", v, 1, 4096));
    public static final Option<Integer> TRAINER_PARALLELISM = declare("trainer.parallelism", "1",
            "Data-parallel trainer ranks (one Flink subtask each; gradients all-reduced every step, libtorch only); batch-size stays the global batch",
            v -> integer("trainer.parallelism", v, 1, 1024));
    public static final Option<Duration> TRAINER_FLUSH_INTERVAL = declare("trainer.flush-interval", "2s",
            "With trainer.parallelism > 1: a rank that waited this long steps with the images it has (possibly none), so idle partitions never stall the others",
            v -> duration("trainer.flush-interval", v, false));
    public static final Option<Duration> TRAINER_GROUP_TIMEOUT = declare("trainer.group-timeout", "90s",
            "With trainer.parallelism > 1: longest wait for the ranks to meet or for one all-reduce; keep it below task.cancellation.timeout (3min)",
            v -> duration("trainer.group-timeout", v, false));
    public static final Option<String> TRAINER_GROUP_HOST = declare("trainer.group-host", "auto",
            "With trainer.parallelism > 1: the address rank 0 announces for its group store (auto: this TaskManager's host address)",
            v -> nonEmpty("trainer.group-host", v, "a host name or address, or auto"));
    public static final Option<Long> PROGRESS_STEPS = declare("progress.steps", "10",
            "Log a progress line every N training steps", v -> lng("progress.steps", v, 1));
    public static final Option<Duration> TRANSACTION_TIMEOUT = declare("results.transaction-timeout", "10min",
            "Kafka transaction timeout of the exactly-once results sink; must stay below the broker's "
                    + "transaction.max.timeout.ms (default 15min) and above checkpoint.interval",
            v -> duration("results.transaction-timeout", v, false));
    public static final Option<String> TRANSACTIONAL_ID_PREFIX = declare("results.transactional-id-prefix", "wrn-results",
            "Transactional id prefix of the exactly-once results sink (unique per job on a cluster)",
            v -> topicLike("results.transactional-id-prefix", v));
    public static final Option<String> PROMETHEUS_PORT = declare("metrics.prometheus.port", "9249-9259",
            "Port or range of the Prometheus reporter of an embedded/local Flink (0 = off); a cluster uses its own "
                    + "metrics.reporter.prom.* settings", JobConfig::portRange);
    public static final Option<Integer> RESTART_ATTEMPTS = declare("restart.attempts", "10",
            "Restarts after failures before the job fails for good with the last error (exponential back-off from "
                    + "restart.delay up to 1 min; the count starts again after 10 min without a failure)",
            v -> integer("restart.attempts", v, 0, 1000));
    public static final Option<Duration> RESTART_DELAY = declare("restart.delay", "1s",
            "Back-off before the first restart after a failure; it doubles with each further one, up to 1 min",
            v -> duration("restart.delay", v, false));
    public static final Option<String> RESTORE = declare("restore", "",
            "Start from a retained checkpoint or savepoint: its path/URI, or latest (the newest one retained under checkpoint.dir); "
                    + "empty = no state", v -> v.strip());
    public static final Option<Boolean> FRESH = declare("fresh", "false",
            "Start a new model although group-id already has committed offsets on topic.train (it then trains on from those offsets); "
                    + "without it such a start is refused", v -> bool("fresh", v));
    public static final Option<Boolean> FAIL_AFTER_CHECKPOINT = declare("debug.fail-after-checkpoint", "false",
            "Testing only: the trainer throws once, on its first attempt, after the first completed checkpoint",
            v -> bool("debug.fail-after-checkpoint", v));

    public static final Option<Boolean> FAIL_AFTER_PUBLISH = declare("debug.fail-after-publish", "false",
            "Testing only: the model publisher throws once, on its first attempt, right after emitting a model update "
                    + "that follows a completed one, so that update's checkpoint never completes",
            v -> bool("debug.fail-after-publish", v));

    public static final Option<long[]> FAIL_AT_STEPS = declare("debug.fail-at-steps", "",
            "Testing only: on its k-th attempt (0-based) the trainer throws after the first step at or past the k-th value that "
                    + "follows a checkpoint of that attempt, e.g. 3,7,10 for three failures at different points; strictly increasing, empty = off",
            JobConfig::steps);

    /** Every declared option, in declaration order. */
    public static final List<Option<?>> OPTIONS = Collections.unmodifiableList(new ArrayList<>(DECLARED));

    private final Map<String, String> raw;
    // Parsed values hold non-serialisable model types; a deserialised copy re-parses the raw text (readResolve).
    private final transient Map<String, Object> values;
    private final Map<String, String> kafka;
    private final Map<String, String> flink;

    private JobConfig(Map<String, String> given) {
        Map<String, String> all = new LinkedHashMap<>();
        Map<String, String> passthrough = new TreeMap<>();
        Map<String, String> flinkKeys = new TreeMap<>();
        Map<String, Object> parsed = new LinkedHashMap<>();
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
                flinkKeys.put(f, e.getValue());
            } else if (find(k) == null) {
                throw new IllegalArgumentException("Unknown option '" + k + "': must be one of "
                        + OPTIONS.stream().map(Option::key).collect(Collectors.joining(", ")) + ", kafka.<client property> or"
                        + " flink.<Flink configuration key>");
            }
        }
        for (Option<?> o : OPTIONS) {
            String v = given.getOrDefault(o.key(), o.defaultValue());
            all.put(o.key(), v);
            parsed.put(o.key(), o.parse(v));
        }
        this.raw = Collections.unmodifiableMap(new LinkedHashMap<>(all));
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
        Map<String, String> merged = new LinkedHashMap<>(file == null ? Map.of() : readFile(file));
        merged.putAll(cli);
        return of(merged);
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

    /** The parsed value of {@code option}. */
    @SuppressWarnings("unchecked")
    public <T> T get(Option<T> option) {
        Object v = values.get(option.key());
        if (v instanceof int[] a) return (T) a.clone();
        if (v instanceof double[] a) return (T) a.clone();
        if (v instanceof long[] a) return (T) a.clone();
        return (T) v;
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

    /** The model: {@link #MODEL} with {@link #DROPOUT}, {@link #INPUT_SHAPE} and {@link #CLASSES}. */
    public WrnConfig wrn() {
        int[] s = get(INPUT_SHAPE);
        return get(MODEL).withDropout(get(DROPOUT)).withInput(s[0], s[1], s[2], get(CLASSES));
    }

    /** The id of the published model: {@link #MODEL_ID}, or the model name ({@code wrn-16-4}) when empty. */
    public String modelId() {
        String id = get(MODEL_ID);
        return id.isEmpty() ? get(MODEL).name() : id;
    }

    /** The optimiser, mapped from the {@code optim.*} options. */
    public OptimConfig optim() {
        return new OptimConfig(get(LR), get(MOMENTUM), get(NESTEROV), get(WEIGHT_DECAY), true, get(SCHEDULE), get(MILESTONES),
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

    /** The {@code --help} text: one line per option with its default. */
    public static String help() {
        int w = OPTIONS.stream().mapToInt(o -> o.key().length()).max().orElse(10) + 4;
        StringBuilder sb = new StringBuilder();
        for (Option<?> o : OPTIONS) {
            sb.append(String.format(Locale.ROOT, "  --%-" + w + "s%s (default: %s)%n", o.key(), o.description(),
                    o.defaultValue().isEmpty() ? "empty" : o.defaultValue()));
        }
        sb.append(String.format(Locale.ROOT, "  --%-" + w + "s%s%n", "kafka.<property>",
                "Passed to every Kafka client (security.protocol, sasl.*, ssl.*, ...)"));
        sb.append(String.format(Locale.ROOT, "  --%-" + w + "s%s%n", "flink.<key>",
                "Flink configuration key, passed to the job's Flink settings (e.g. flink.state.checkpoints.num-retained)"));
        sb.append(String.format(Locale.ROOT, "  --%-" + w + "s%s%n", "config FILE", "Read key: value lines first; arguments override them"));
        return sb.toString();
    }

    /** The options as a Markdown table (key, default, description), for the README. */
    public static String markdownTable() {
        StringBuilder sb = new StringBuilder("| Key | Default | Description |\n|---|---|---|\n");
        for (Option<?> o : OPTIONS) {
            sb.append("| `").append(o.key()).append("` | ").append(o.defaultValue().isEmpty() ? "(empty)" : "`" + o.defaultValue() + "`")
                    .append(" | ").append(o.description().replace("|", "\\|")).append(" |\n");
        }
        sb.append("| `kafka.<property>` | | Passed to every Kafka client (security.protocol, sasl.*, ssl.*, ...) |\n");
        sb.append("| `flink.<key>` | | Flink configuration key, applied last to the job's Flink settings (e.g. `flink.state.checkpoints.num-retained`) |\n");
        return sb.toString();
    }

    static Option<?> find(String key) {
        for (Option<?> o : DECLARED) if (o.key().equals(key)) return o;
        return null;
    }

    private static <T> Option<T> declare(String key, String def, String description, Function<String, T> parser) {
        if (find(key) != null) throw new IllegalStateException("Option " + key + " declared twice");
        Option<T> o = new Option<>(key, def, description, parser);
        DECLARED.add(o);
        return o;
    }

    // ---- parsers: each error names the key, the value and what is allowed ----

    private static IllegalArgumentException invalid(String key, String v, String allowed) {
        return new IllegalArgumentException("Invalid value '" + v + "' for " + key + ": must be " + allowed);
    }

    /** {@code 0}, a port in [1, 65535] or a range {@code low-high} of such ports with low <= high. */
    static String portRange(String v) {
        String allowed = "0 (off), a port in [1, 65535] or a range low-high such as 9249-9259";
        Matcher m = Pattern.compile("(\\d{1,5})(?:-(\\d{1,5}))?").matcher(v.strip());
        if (!m.matches()) throw invalid("metrics.prometheus.port", v, allowed);
        int low = Integer.parseInt(m.group(1));
        int high = m.group(2) == null ? low : Integer.parseInt(m.group(2));
        if (low == 0 && m.group(2) == null) return "0";
        if (low < 1 || high > 65535 || low > high) throw invalid("metrics.prometheus.port", v, allowed);
        return v.strip();
    }

    static String nonEmpty(String key, String v, String allowed) {
        if (v.isEmpty()) throw invalid(key, v, "non-empty (" + allowed + ")");
        return v;
    }

    static String topicLike(String key, String v) {
        if (!v.matches("[A-Za-z0-9._-]{1,249}")) throw invalid(key, v, "1-249 characters of [A-Za-z0-9._-]");
        return v;
    }

    static String oneOf(String key, String v, String... allowed) {
        String s = v.toLowerCase(Locale.ROOT);
        for (String a : allowed) if (a.equals(s)) return a;
        throw invalid(key, v, "one of " + Arrays.toString(allowed));
    }

    static boolean bool(String key, String v) {
        return Boolean.parseBoolean(oneOf(key, v, "true", "false"));
    }

    static int integer(String key, String v, int min, int max) {
        try {
            int i = Integer.parseInt(v);
            if (i >= min && i <= max) return i;
        } catch (NumberFormatException ignored) {
            // reported below with the allowed range
        }
        throw invalid(key, v, max == Integer.MAX_VALUE ? "an integer >= " + min : "an integer in [" + min + ", " + max + "]");
    }

    static long lng(String key, String v, long min) {
        try {
            long l = Long.parseLong(v);
            if (l >= min) return l;
        } catch (NumberFormatException ignored) {
            // reported below with the allowed range
        }
        throw invalid(key, v, min == Long.MIN_VALUE ? "an integer" : "an integer >= " + min);
    }

    static double dbl(String key, String v, double lo, double hi, boolean loInclusive, boolean hiInclusive) {
        String range = (loInclusive ? "[" : "(") + fmt(lo) + ", " + (hi == Double.MAX_VALUE ? "inf" : fmt(hi)) + (hiInclusive && hi != Double.MAX_VALUE ? "]" : ")");
        try {
            double d = Double.parseDouble(v);
            boolean ok = Double.isFinite(d) && (loInclusive ? d >= lo : d > lo) && (hiInclusive ? d <= hi : d < hi);
            if (ok) return d;
        } catch (NumberFormatException ignored) {
            // reported below with the allowed range
        }
        throw invalid(key, v, "a finite number in " + range);
    }

    private static String fmt(double d) {
        return d == Math.rint(d) ? String.valueOf((long) d) : String.valueOf(d);
    }

    private static final Pattern DURATION = Pattern.compile("(\\d{1,12})\\s*(ms|s|min|m|h)?");

    static Duration duration(String key, String v, boolean zeroAllowed) {
        Matcher m = DURATION.matcher(v.toLowerCase(Locale.ROOT));
        if (m.matches()) {
            long n = Long.parseLong(m.group(1));
            String unit = m.group(2) == null ? "s" : m.group(2);
            Duration d = switch (unit) {
                case "ms" -> Duration.ofMillis(n);
                case "s" -> Duration.ofSeconds(n);
                case "min", "m" -> Duration.ofMinutes(n);
                default -> Duration.ofHours(n);
            };
            if (zeroAllowed || !d.isZero()) return d;
        }
        throw invalid(key, v, "a duration " + (zeroAllowed ? ">= 0" : "> 0") + " such as 500ms, 60s, 10min or 2h");
    }

    /** Largest height and width of {@link #INPUT_SHAPE}: the dataset decoder's bound (ImageLimits.DEFAULT). */
    public static final int MAX_SIDE = 4096;
    /** Largest channel count of {@link #INPUT_SHAPE}: the image record format's u8. */
    public static final int MAX_CHANNELS = 255;

    static int[] shape(String v) {
        Matcher m = Pattern.compile("(\\d{1,3})x(\\d{1,5})x(\\d{1,5})").matcher(v.toLowerCase(Locale.ROOT));
        if (m.matches()) {
            int c = Integer.parseInt(m.group(1)), h = Integer.parseInt(m.group(2)), w = Integer.parseInt(m.group(3));
            if (c >= 1 && h >= 8 && w >= 8) {
                if (c > MAX_CHANNELS || h > MAX_SIDE || w > MAX_SIDE) {
                    throw invalid("input.shape", v, "CxHxW with C <= " + MAX_CHANNELS + " and H, W <= " + MAX_SIDE
                            + " (the largest images the decoder accepts), e.g. 3x32x32 or 1x28x28");
                }
                return new int[] {c, h, w};
            }
        }
        throw invalid("input.shape", v, "CxHxW with C >= 1 and H, W >= 8, e.g. 3x32x32 or 1x28x28");
    }

    static long[] steps(String v) {
        if (v.isBlank()) return new long[0];
        try {
            long[] s = Arrays.stream(v.split(",")).map(String::trim).mapToLong(Long::parseLong).toArray();
            boolean ok = true;
            for (int i = 0; i < s.length; i++) ok &= s[i] >= 1 && (i == 0 || s[i] > s[i - 1]);
            if (ok) return s;
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw invalid("debug.fail-at-steps", v, "empty or a comma-separated, strictly increasing list of steps >= 1, e.g. 3,7,10");
    }

    static Schedule schedule(String v) {
        return Schedule.valueOf(oneOf("optim.schedule", v, "step", "cosine", "constant").toUpperCase(Locale.ROOT));
    }

    static double[] milestones(String v) {
        if (v.isEmpty()) return new double[0];
        try {
            double[] m = Arrays.stream(v.split(",")).map(String::trim).mapToDouble(Double::parseDouble).toArray();
            boolean ok = true;
            for (int i = 0; i < m.length; i++) ok &= Double.isFinite(m[i]) && m[i] > 0 && (i == 0 || m[i] > m[i - 1]);
            if (ok) return m;
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw invalid("optim.milestones", v, "a comma-separated, strictly increasing list of epochs > 0, e.g. 60,120,160");
    }

    static String uri(String v) {
        return uri("checkpoint.dir", v);
    }

    static String uri(String key, String v) {
        String example = key.equals("checkpoint.dir") ? "checkpoints" : "models";
        if (!v.matches("[a-zA-Z][a-zA-Z0-9+.-]*://.+")) {
            throw invalid(key, v, "a URI with a scheme, e.g. file:///data/" + example + " or s3://bucket/path");
        }
        return v;
    }

    @Override
    public String toString() {
        return "JobConfig" + raw;
    }
}
