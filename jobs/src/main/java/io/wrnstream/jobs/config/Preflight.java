package io.wrnstream.jobs.config;

import io.wrnstream.jobs.RetainedCheckpoints;
import io.wrnstream.jobs.publish.BrokerLimits;
import io.wrnstream.kafka.update.UpdateSigning;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What can be checked before a job is submitted, against the broker's limits and this machine: a job that would
 * only fail at run time (and then restart until {@code restart.attempts} runs out) is refused at once with every
 * problem, each naming its setting.
 *
 * <pre>{@code
 * Preflight.check(config, BrokerLimits.read(config, Duration.ofSeconds(30)), Preflight.machineMemory(config));
 * }</pre>
 */
public final class Preflight {
    private static final Logger LOG = LoggerFactory.getLogger(Preflight.class);

    private Preflight() {}

    /**
     * Fails with every problem found.
     *
     * @param memoryBytes memory the trainer may use, or 0 to skip the memory check (a remote cluster checks on its
     *     TaskManager instead, see {@link #memoryProblem})
     * @throws IllegalStateException listing the problems, one a line
     */
    public static void check(JobConfig c, BrokerLimits limits, long memoryBytes) {
        check(c, limits, memoryBytes, Optional.empty());
    }

    /**
     * Like {@link #check(JobConfig, BrokerLimits, long)}, knowing also the newest checkpoint retained under
     * {@code checkpoint.dir} ({@link #retainedCheckpoint}).
     */
    public static void check(JobConfig c, BrokerLimits limits, long memoryBytes, Optional<String> retained) {
        List<String> problems = problems(c, limits, memoryBytes, retained);
        if (!problems.isEmpty()) {
            throw new IllegalStateException("The job cannot run as configured:\n  " + String.join("\n  ", problems));
        }
    }

    /** The problems of {@code c} against {@code limits} and {@code memoryBytes}; empty when there are none. */
    public static List<String> problems(JobConfig c, BrokerLimits limits, long memoryBytes) {
        return problems(c, limits, memoryBytes, Optional.empty());
    }

    /**
     * The problems of {@code c} against {@code limits}, {@code memoryBytes} and the newest checkpoint {@code retained}
     * under {@code checkpoint.dir} (empty: none, or not looked at).
     */
    public static List<String> problems(JobConfig c, BrokerLimits limits, long memoryBytes, Optional<String> retained) {
        List<String> out = new ArrayList<>();
        long tx = c.get(JobConfig.TRANSACTION_TIMEOUT).toMillis();
        if (tx > limits.transactionMaxTimeoutMs()) {
            out.add("results.transaction-timeout=" + c.raw().get(JobConfig.TRANSACTION_TIMEOUT.key()) + " (" + tx
                    + " ms) is above the broker's transaction.max.timeout.ms=" + limits.transactionMaxTimeoutMs()
                    + ": set it at most that, or raise the broker's limit");
        }
        String train = c.get(JobConfig.TOPIC_TRAIN);
        if (!limits.topics().contains(train)) {
            out.add("topic.train=" + train + " does not exist on bootstrap-servers=" + c.get(JobConfig.BOOTSTRAP_SERVERS)
                    + ": create it (wrn-stream ingest does) or name an existing topic");
        }
        if (limits.committedPartitions() > 0 && c.get(JobConfig.RESTORE).isEmpty() && !c.get(JobConfig.FRESH)
                && c.get(JobConfig.SOURCE_START).equals("committed")) {
            out.add("group-id=" + c.get(JobConfig.GROUP_ID) + " has committed offsets on " + limits.committedPartitions()
                    + " partition(s) of topic.train=" + train + ": an earlier job trained on them. Restore its model (--restore latest, or"
                    + " a checkpoint or savepoint path), or start a new model from those offsets on purpose (--fresh true), or use another"
                    + " group-id");
        } else if (retained.isPresent() && c.get(JobConfig.RESTORE).isEmpty() && !c.get(JobConfig.FRESH)
                && c.get(JobConfig.SOURCE_START).equals("committed")) {
            // The source commits its offsets only after a checkpoint completes, asynchronously: a job killed in between
            // leaves a retained checkpoint and no committed offsets, and a rerun would silently start a new model.
            out.add("checkpoint.dir=" + c.get(JobConfig.CHECKPOINT_DIR) + " retains checkpoint " + retained.get() + " of an earlier job"
                    + " that did not finish (its offsets may not have reached group-id=" + c.get(JobConfig.GROUP_ID) + " yet). Restore"
                    + " its model (--restore latest, or that path), or start a new model on purpose (--fresh true), or use another"
                    + " checkpoint.dir");
        }
        String restore = c.get(JobConfig.RESTORE);
        if (!restore.isEmpty() && !restore.equals("latest") && (restore.startsWith("/") || restore.startsWith("file:"))) {
            Path p = restore.startsWith("file:") ? Path.of(java.net.URI.create(restore)) : Path.of(restore);
            if (!Files.exists(p)) {
                out.add("restore=" + restore + " does not exist: give a retained checkpoint (.../chk-N) or savepoint directory, or latest");
            }
        }
        String eval = c.get(JobConfig.EVAL_DATASET);
        if (!eval.isEmpty() && !Files.exists(Path.of(eval))) {
            out.add("eval.dataset=" + eval + " does not exist: give a cifar10-jpeg folder or zip, or leave it empty to"
                    + " read the held-out set from topic.test");
        } else if (eval.isEmpty() && !limits.topics().contains(c.get(JobConfig.TOPIC_TEST))) {
            out.add("topic.test=" + c.get(JobConfig.TOPIC_TEST) + " does not exist and eval.dataset is empty: ingest the test"
                    + " split into topic.test or set eval.dataset");
        }
        String keyFile = c.get(JobConfig.MODEL_SIGNING_KEY_FILE);
        if (!keyFile.isEmpty()) {
            try {
                UpdateSigning.fromFile(Path.of(keyFile));
            } catch (IllegalArgumentException e) {
                out.add("model.signing-key-file=" + keyFile + ": " + e.getMessage());
            }
        }
        if (memoryBytes > 0) {
            String m = memoryProblem(c, memoryBytes);
            if (m != null) out.add(m);
        }
        return out;
    }

    /**
     * The newest checkpoint retained under {@code checkpoint.dir} when the committed-offsets rule applies to {@code c}
     * (no {@code restore}, no {@code fresh}, {@code source.start=committed}); empty otherwise, and when the folder cannot
     * be listed from here (a file system whose plugin only the cluster has: the offsets rule still holds there).
     */
    public static Optional<String> retainedCheckpoint(JobConfig c) {
        if (!c.get(JobConfig.RESTORE).isEmpty() || c.get(JobConfig.FRESH) || !c.get(JobConfig.SOURCE_START).equals("committed")) {
            return Optional.empty();
        }
        try {
            return RetainedCheckpoints.latest(c.get(JobConfig.CHECKPOINT_DIR));
        } catch (RuntimeException e) {
            LOG.warn("Cannot look for retained checkpoints in checkpoint.dir={}: {}", c.get(JobConfig.CHECKPOINT_DIR), e.toString());
            return Optional.empty();
        }
    }

    /**
     * Why the model cannot train in {@code availableBytes}, or null when it may: its lower bound
     * ({@link io.wrnstream.model.wrn.WrnConfig#trainingBytesLowerBound}) is above what is available.
     */
    public static String memoryProblem(JobConfig c, long availableBytes) {
        double need = c.wrn().trainingBytesLowerBound(c.get(JobConfig.BATCH_SIZE));
        if (need <= availableBytes) return null;
        return String.format(Locale.ROOT, "model=%s with batch-size=%d needs at least %s to train (%,d parameters) but the"
                        + " trainer has %s (engine %s): choose a smaller model or batch-size, or give the trainer more memory",
                c.raw().get(JobConfig.MODEL.key()), c.get(JobConfig.BATCH_SIZE), bytes(need), c.wrn().trainableParameters(),
                bytes(availableBytes), c.get(JobConfig.ENGINE));
    }

    /**
     * Memory this JVM's trainer may use: the machine's physical memory, and for DL4J at most ND4J's off-heap limit
     * (JavaCPP's {@code org.bytedeco.javacpp.maxBytes}, by default the maximum heap).
     */
    public static long machineMemory(JobConfig c) {
        long physical = ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getTotalMemorySize();
        if (!c.get(JobConfig.ENGINE).equals("dl4j")) return physical;
        long max = Runtime.getRuntime().maxMemory();
        String p = System.getProperty("org.bytedeco.javacpp.maxBytes", System.getProperty("org.bytedeco.javacpp.maxbytes"));
        if (p != null) {
            try {
                max = parseBytes(p);
            } catch (NumberFormatException ignored) {
                // JavaCPP itself reports a bad value; keep the heap as the bound
            }
        }
        return max > 0 ? Math.min(max, physical) : physical;
    }

    private static long parseBytes(String v) {
        String s = v.strip().toLowerCase(Locale.ROOT);
        long unit = 1;
        char last = s.charAt(s.length() - 1);
        if (last == 'k' || last == 'm' || last == 'g' || last == 't') {
            unit = switch (last) {
                case 'k' -> 1L << 10;
                case 'm' -> 1L << 20;
                case 'g' -> 1L << 30;
                default -> 1L << 40;
            };
            s = s.substring(0, s.length() - 1);
        }
        return Long.parseLong(s) * unit;
    }

    static String bytes(double b) {
        String[] units = {"B", "KB", "MB", "GB", "TB", "PB", "EB"};
        int i = 0;
        while (b >= 1000 && i < units.length - 1) {
            b /= 1000;
            i++;
        }
        return String.format(Locale.ROOT, i == 0 ? "%.0f %s" : "%.1f %s", b, units[i]);
    }
}
