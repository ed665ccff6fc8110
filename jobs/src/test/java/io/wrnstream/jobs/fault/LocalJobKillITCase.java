package io.wrnstream.jobs.fault;

import static org.assertj.core.api.Assertions.assertThat;

import io.wrnstream.jobs.RetainedCheckpoints;
import io.wrnstream.jobs.TrainingJob;
import io.wrnstream.jobs.testing.Images;
import io.wrnstream.jobs.testing.JvmProcess;
import io.wrnstream.model.io.ModelFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A local training job ({@link TrainingJob#main} in its own JVM, a broker in another) is killed with SIGKILL after a
 * checkpoint; the same command with {@code --restore latest} resumes it, ends on its own, and its final model has seen
 * exactly the published images. Without {@code --restore} the rerun is refused. The JVMs' logs stay in
 * {@code target/fault-logs/LocalJobKillITCase}.
 */
class LocalJobKillITCase {
    private static final Logger LOG = LoggerFactory.getLogger(LocalJobKillITCase.class);
    private static final int TRAIN_IMAGES = 256;

    @TempDir
    Path dir;

    @Test
    void killedLocalJobResumesFromItsLatestCheckpointAndTrainsEveryImageOnce() throws Exception {
        int brokerPort = JvmProcess.freePort(), controllerPort = JvmProcess.freePort();
        String bootstrap = "127.0.0.1:" + brokerPort;
        Path logs = JvmProcess.logFolder(LocalJobKillITCase.class);
        Process broker = JvmProcess.broker(dir.resolve("kafka"), brokerPort, controllerPort);
        Process job = null;
        try {
            try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap, "default.api.timeout.ms", 60_000))) {
                admin.createTopics(List.of(new NewTopic("kill.train", 2, (short) 1), new NewTopic("kill.test", 1, (short) 1),
                        new NewTopic("kill.results", 1, (short) 1), new NewTopic("kill.dlq", 1, (short) 1))).all().get(60, TimeUnit.SECONDS);
            }
            Images.publishSynthetic(bootstrap, "kill.train", TRAIN_IMAGES, 1);
            Images.publishSynthetic(bootstrap, "kill.test", 32, 7);
            Path model = dir.resolve("final.wrnmodel");
            String checkpoints = dir.resolve("checkpoints").toUri().toString();
            List<String> args = new ArrayList<>(List.of("--bootstrap-servers", bootstrap, "--topic.train", "kill.train", "--topic.test", "kill.test",
                    "--topic.results", "kill.results", "--topic.dead-letter", "kill.dlq", "--group-id", "kill-trainer",
                    "--results.transactional-id-prefix", "kill-results", "--model", "wrn-10-1", "--batch-size", "16", "--snapshot.steps", "100",
                    "--eval.limit", "32", "--optim.epoch-size", String.valueOf(TRAIN_IMAGES), "--checkpoint.interval", "500ms",
                    "--checkpoint.dir", checkpoints, "--state.backend", "hashmap", "--source.bounded", "true", "--model.output", model.toString(),
                    "--model.publish", "false", "--metrics.prometheus.port", "0", "--parallelism", "2",
                    // a checkpoint every 2 of the 16 steps: still training when the test kills it after the second, however fast it trains
                    "--debug.checkpoint-every-steps", "2"));

            job = JvmProcess.start("2g", logs.resolve("job-1.log"), TrainingJob.class, args.toArray(String[]::new));
            Optional<String> checkpoint = awaitCheckpoint(checkpoints, job, Duration.ofMinutes(4));
            job.destroyForcibly(); // SIGKILL: no shutdown hook, no savepoint, the checkpoint on disk is all that is left
            assertThat(job.waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(model).as("killed before the end").doesNotExist();
            LOG.info("job killed after checkpoint {}", checkpoint.orElseThrow());

            // The same command again: refused, it would start a new model from the committed offsets.
            Process refused = JvmProcess.start("1g", logs.resolve("job-2.log"), TrainingJob.class, args.toArray(String[]::new));
            assertThat(refused.waitFor(3, TimeUnit.MINUTES)).isTrue();
            assertThat(refused.exitValue()).isNotZero();
            // Refused by the committed offsets, or, when the kill came before the source's asynchronous offset commit of the
            // completed checkpoint reached the broker, by the retained checkpoint.
            String refusal = Files.readString(logs.resolve("job-2.log"));
            assertThat(refusal).containsAnyOf("group-id=kill-trainer has committed offsets", "retains checkpoint").contains("--restore latest");
            LOG.info("rerun without --restore refused by {}", refusal.contains("has committed offsets") ? "the committed offsets" : "the retained checkpoint");

            args.addAll(List.of("--restore", "latest"));
            job = JvmProcess.start("2g", logs.resolve("job-3.log"), TrainingJob.class, args.toArray(String[]::new));
            assertThat(job.waitFor(5, TimeUnit.MINUTES)).as("the restored bounded run ends on its own").isTrue();
            assertThat(job.exitValue()).as("see " + logs.resolve("job-3.log")).isZero();
            ModelFile.Provenance p = ModelFile.load(model).provenance();
            LOG.info("restored run: final model after {} images, {} steps", p.imagesSeen(), p.steps());
            assertThat(p.imagesSeen()).as("every published image trained exactly once across the kill").isEqualTo(TRAIN_IMAGES);
        } finally {
            if (job != null) job.destroyForcibly();
            broker.destroy();
            broker.waitFor(30, TimeUnit.SECONDS);
        }
    }

    /** The first retained checkpoint of a job past its first steps, polling the checkpoint folder. */
    private static Optional<String> awaitCheckpoint(String checkpoints, Process job, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline && job.isAlive()) {
            Optional<String> c = RetainedCheckpoints.latest(checkpoints);
            if (c.isPresent() && !c.get().endsWith("chk-1") && !c.get().endsWith("chk-1/")) return c;
            TimeUnit.MILLISECONDS.sleep(100); // polling the folder Flink writes
        }
        throw new AssertionError("no checkpoint beyond the first within " + timeout + " (job alive: " + job.isAlive() + ")");
    }
}
