package io.wrnstream.jobs.fault;

import static org.assertj.core.api.Assertions.assertThat;

import io.wrnstream.jobs.TrainingJob;
import io.wrnstream.jobs.config.JobConfig;
import io.wrnstream.jobs.publish.KafkaIo;
import io.wrnstream.jobs.testing.Images;
import io.wrnstream.jobs.testing.JvmProcess;
import io.wrnstream.jobs.testing.Topics;
import io.wrnstream.jobs.train.TrainerEvent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint;
import org.apache.flink.runtime.taskexecutor.TaskManagerRunner;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.junit.jupiter.api.Disabled;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A standalone Flink cluster of separate JVMs (a JobManager and two one-slot TaskManagers from {@code flink-runtime}'s
 * entry points) runs the bounded job; one TaskManager is killed with SIGKILL mid-training and a replacement starts, as
 * a cluster manager would. The job recovers from its checkpoint and trains exactly the published images.
 */
class TaskManagerLossITCase {
    private static final Logger LOG = LoggerFactory.getLogger(TaskManagerLossITCase.class);
    private static final int TRAIN_IMAGES = 320;

    @TempDir
    Path dir;

    @Test
    @Disabled("Not passing yet: on the shared 2-core machine at load average 30-40 the remote job reported no checkpoint within"
            + " 4 min; the cluster JVMs' logs are empty (no log4j configuration passed to them). Next: pass -Dlog4j.configurationFile,"
            + " check slot allocation on the two one-slot TaskManagers, then enable.")
    void jobRecoversFromItsCheckpointWhenATaskManagerIsKilled() throws Exception {
        int brokerPort = JvmProcess.freePort(), controllerPort = JvmProcess.freePort();
        int rpcPort = JvmProcess.freePort(), restPort = JvmProcess.freePort();
        String bootstrap = "127.0.0.1:" + brokerPort;
        List<Process> processes = new ArrayList<>();
        Process broker = JvmProcess.broker(dir.resolve("kafka"), brokerPort, controllerPort);
        processes.add(broker);
        try {
            try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap, "default.api.timeout.ms", 60_000))) {
                admin.createTopics(List.of(new NewTopic("tm.train", 2, (short) 1), new NewTopic("tm.test", 1, (short) 1),
                        new NewTopic("tm.results", 1, (short) 1), new NewTopic("tm.dlq", 1, (short) 1),
                        new NewTopic("tm.events", 1, (short) 1))).all().get(60, TimeUnit.SECONDS);
            }
            Images.publishSynthetic(bootstrap, "tm.train", TRAIN_IMAGES, 1);
            Images.publishSynthetic(bootstrap, "tm.test", 32, 7);

            Path conf = dir.resolve("conf");
            Files.createDirectories(conf);
            Files.writeString(conf.resolve("config.yaml"), String.join("\n",
                    "jobmanager.rpc.address: localhost", "jobmanager.rpc.port: " + rpcPort, "jobmanager.bind-host: localhost",
                    "rest.address: localhost", "rest.port: " + restPort, "rest.bind-address: localhost",
                    "taskmanager.host: localhost", "taskmanager.bind-host: localhost", "taskmanager.numberOfTaskSlots: 1",
                    "jobmanager.memory.process.size: 1024m", "taskmanager.memory.process.size: 1600m",
                    "heartbeat.interval: 1000", "heartbeat.timeout: 6000", "metrics.reporters: ''", "") );
            processes.add(JvmProcess.start("768m", dir.resolve("jobmanager.log"), StandaloneSessionClusterEntrypoint.class, "--configDir", conf.toString()));
            Process tm1 = JvmProcess.start("1200m", dir.resolve("tm-1.log"), TaskManagerRunner.class, "--configDir", conf.toString());
            processes.add(tm1);
            processes.add(JvmProcess.start("1200m", dir.resolve("tm-2.log"), TaskManagerRunner.class, "--configDir", conf.toString()));

            JobConfig c = JobConfig.of(Map.ofEntries(Map.entry("bootstrap-servers", bootstrap),
                    Map.entry("topic.train", "tm.train"), Map.entry("topic.test", "tm.test"), Map.entry("topic.results", "tm.results"),
                    Map.entry("topic.dead-letter", "tm.dlq"), Map.entry("group-id", "tm-trainer"),
                    Map.entry("results.transactional-id-prefix", "tm-results"), Map.entry("model", "wrn-10-1"), Map.entry("batch-size", "16"),
                    Map.entry("snapshot.steps", "100"), Map.entry("eval.limit", "32"), Map.entry("optim.epoch-size", String.valueOf(TRAIN_IMAGES)),
                    Map.entry("checkpoint.interval", "500ms"), Map.entry("checkpoint.dir", dir.resolve("checkpoints").toUri().toString()),
                    Map.entry("source.bounded", "true"), Map.entry("source.start", "earliest"), Map.entry("state.backend", "hashmap"),
                    Map.entry("progress.steps", "1"), Map.entry("model.output", dir.resolve("final.model").toString()),
                    Map.entry("model.publish", "false"), Map.entry("metrics.prometheus.port", "0"), Map.entry("restart.delay", "1s")));
            Configuration flink = TrainingJob.flinkConfiguration(c);
            StreamExecutionEnvironment env = StreamExecutionEnvironment.createRemoteEnvironment("localhost", restPort, flink);
            new TrainingJob(c).defineWorkflow(env, KafkaIo.trainingSource(c), new TrainingJob.Sinks(KafkaIo.resultsSink(c),
                    KafkaIo.deadLetterSink(c), KafkaIo.eventSink(c, "tm.events")));
            JobClient job = env.executeAsync("TaskManagerLossITCase");

            awaitEvents(bootstrap, TrainerEvent.Kind.CHECKPOINT, 1, Duration.ofMinutes(4));
            tm1.destroyForcibly(); // SIGKILL
            assertThat(tm1.waitFor(30, TimeUnit.SECONDS)).isTrue();
            long killed = System.nanoTime();
            processes.add(JvmProcess.start("1200m", dir.resolve("tm-3.log"), TaskManagerRunner.class, "--configDir", conf.toString()));
            job.getJobExecutionResult().get(6, TimeUnit.MINUTES);
            LOG.info("job ended {} s after the TaskManager was killed", String.format("%.1f", (System.nanoTime() - killed) / 1e9));

            List<TrainerEvent> events = events(bootstrap);
            TrainerEvent end = events.stream().filter(e -> e.kind() == TrainerEvent.Kind.FINISHED).reduce((a, b) -> b).orElseThrow();
            long restores = events.stream().filter(e -> e.kind() == TrainerEvent.Kind.RESTORED).count();
            LOG.info("TaskManager killed: {} of {} images trained, {} restore(s)", end.imagesSeen(), TRAIN_IMAGES, restores);
            assertThat(restores).as("the job recovered from a checkpoint").isPositive();
            assertThat(end.imagesSeen()).as("every image trained exactly once").isEqualTo(TRAIN_IMAGES);
        } finally {
            for (Process p : processes) p.destroyForcibly();
            for (Process p : processes) p.waitFor(30, TimeUnit.SECONDS);
            // Keep the cluster's logs for a failed run (the temporary folder goes).
            Path keep = Path.of("target", "TaskManagerLossITCase-logs");
            Files.createDirectories(keep);
            try (var logs = Files.list(dir)) {
                for (Path log : logs.filter(f -> f.toString().endsWith(".log")).toList()) {
                    Files.copy(log, keep.resolve(log.getFileName()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
    }

    private static List<TrainerEvent> events(String bootstrap) {
        return Topics.readCommitted(bootstrap, "tm.events").stream().map(r -> TrainerEvent.fromJson(Topics.utf8(r.value()))).toList();
    }

    private static void awaitEvents(String bootstrap, TrainerEvent.Kind kind, int n, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (events(bootstrap).stream().filter(e -> e.kind() == kind).count() >= n) return;
            TimeUnit.MILLISECONDS.sleep(250); // polling the events topic
        }
        throw new AssertionError("fewer than " + n + " " + kind + " events within " + timeout);
    }
}
