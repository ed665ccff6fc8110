package io.wrnstream.jobs.fault;

import static org.assertj.core.api.Assertions.assertThat;

import io.wrnstream.jobs.RetainedCheckpoints;
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
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.GlobalConfiguration;
import org.apache.flink.runtime.clusterframework.TaskExecutorProcessSpec;
import org.apache.flink.runtime.clusterframework.TaskExecutorProcessUtils;
import org.apache.flink.runtime.util.config.memory.ProcessMemoryUtils;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint;
import org.apache.flink.runtime.taskexecutor.TaskManagerRunner;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A standalone Flink cluster of separate JVMs (a JobManager and two one-slot TaskManagers from {@code flink-runtime}'s
 * entry points) runs the bounded job; one TaskManager is killed with SIGKILL mid-training and a replacement starts, as
 * a cluster manager would. The job recovers from its checkpoint and trains exactly the published images. The JVMs' logs
 * stay in {@code target/fault-logs/TaskManagerLossITCase}.
 */
class TaskManagerLossITCase {
    private static final Logger LOG = LoggerFactory.getLogger(TaskManagerLossITCase.class);
    private static final int TRAIN_IMAGES = 320;

    @TempDir
    Path dir;

    @Test
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void jobRecoversFromItsCheckpointWhenATaskManagerIsKilled() throws Exception {
        int brokerPort = JvmProcess.freePort(), controllerPort = JvmProcess.freePort();
        int rpcPort = JvmProcess.freePort(), restPort = JvmProcess.freePort();
        String bootstrap = "127.0.0.1:" + brokerPort;
        Path logs = JvmProcess.logFolder(TaskManagerLossITCase.class);
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
                    "jobmanager.memory.process.size: 1024m", "taskmanager.memory.process.size: 1600m", "taskmanager.memory.managed.size: 64m",
                    "heartbeat.interval: 1000", "heartbeat.timeout: 6000", "metrics.reporters: ''", "") );
            processes.add(JvmProcess.start("768m", logs.resolve("jobmanager.log"), StandaloneSessionClusterEntrypoint.class, "--configDir", conf.toString()));
            Map<Path, Process> taskManagers = Map.of(logs.resolve("tm-1.log"), taskManager(conf, logs.resolve("tm-1.log")),
                    logs.resolve("tm-2.log"), taskManager(conf, logs.resolve("tm-2.log")));
            processes.addAll(taskManagers.values());

            JobConfig c = JobConfig.of(Map.ofEntries(Map.entry("bootstrap-servers", bootstrap),
                    Map.entry("topic.train", "tm.train"), Map.entry("topic.test", "tm.test"), Map.entry("topic.results", "tm.results"),
                    Map.entry("topic.dead-letter", "tm.dlq"), Map.entry("group-id", "tm-trainer"),
                    Map.entry("results.transactional-id-prefix", "tm-results"), Map.entry("model", "wrn-10-1"), Map.entry("batch-size", "16"),
                    Map.entry("snapshot.steps", "100"), Map.entry("eval.limit", "32"), Map.entry("optim.epoch-size", String.valueOf(TRAIN_IMAGES)),
                    Map.entry("checkpoint.interval", "500ms"), Map.entry("checkpoint.dir", dir.resolve("checkpoints").toUri().toString()),
                    Map.entry("source.bounded", "true"), Map.entry("source.start", "earliest"), Map.entry("state.backend", "hashmap"),
                    Map.entry("progress.steps", "1"), Map.entry("model.output", dir.resolve("final.model").toString()),
                    Map.entry("debug.checkpoint-every-steps", "2"), // still training after the first checkpoint, however fast
                    Map.entry("model.publish", "false"), Map.entry("metrics.prometheus.port", "0"), Map.entry("restart.delay", "1s")));
            Configuration flink = TrainingJob.flinkConfiguration(c);
            StreamExecutionEnvironment env = StreamExecutionEnvironment.createRemoteEnvironment("localhost", restPort, flink);
            new TrainingJob(c).defineWorkflow(env, KafkaIo.trainingSource(c), new TrainingJob.Sinks(KafkaIo.resultsSink(c),
                    KafkaIo.deadLetterSink(c), KafkaIo.eventSink(c, "tm.events")));
            JobClient job = env.executeAsync("TaskManagerLossITCase");

            long submitted = System.nanoTime();
            String checkpoint = awaitCheckpoint(c.get(JobConfig.CHECKPOINT_DIR), processes, logs, Duration.ofSeconds(90));
            LOG.info("first checkpoint {} s after submission: {}", String.format("%.1f", (System.nanoTime() - submitted) / 1e9), checkpoint);
            assertThat(job.getJobStatus().get(30, TimeUnit.SECONDS)).as("still training when the TaskManager is killed").isEqualTo(JobStatus.RUNNING);
            // The TaskManager that holds the model: the one whose log has the trainer's start.
            Path trainerLog = taskManagers.keySet().stream().filter(l -> readLog(l).contains("Trainer started")).findFirst()
                    .orElseThrow(() -> new AssertionError("no TaskManager log says the trainer started; see " + logs));
            Process victim = taskManagers.get(trainerLog);
            victim.destroyForcibly(); // SIGKILL
            assertThat(victim.waitFor(30, TimeUnit.SECONDS)).isTrue();
            LOG.info("killed the trainer's TaskManager ({}) with SIGKILL", trainerLog.getFileName());
            long killed = System.nanoTime();
            processes.add(taskManager(conf, logs.resolve("tm-3.log")));
            job.getJobExecutionResult().get(2, TimeUnit.MINUTES);
            LOG.info("job ended {} s after the TaskManager was killed", String.format("%.1f", (System.nanoTime() - killed) / 1e9));

            List<TrainerEvent> events = events(bootstrap);
            TrainerEvent end = events.stream().filter(e -> e.kind() == TrainerEvent.Kind.FINISHED).reduce((a, b) -> b).orElseThrow();
            List<TrainerEvent> restores = events.stream().filter(e -> e.kind() == TrainerEvent.Kind.RESTORED).toList();
            LOG.info("TaskManager killed: {} of {} images trained, {} restore(s), from step(s) {}", end.imagesSeen(), TRAIN_IMAGES, restores.size(),
                    restores.stream().map(TrainerEvent::step).toList());
            assertThat(restores).as("the job recovered from a checkpoint").isNotEmpty();
            assertThat(restores.get(0).imagesSeen()).as("restored mid-training").isLessThan(TRAIN_IMAGES);
            assertThat(end.imagesSeen()).as("every image trained exactly once").isEqualTo(TRAIN_IMAGES);
        } finally {
            for (Process p : processes) p.destroyForcibly();
            for (Process p : processes) p.waitFor(30, TimeUnit.SECONDS);
        }
    }

    /**
     * A TaskManager JVM started as Flink's {@code taskmanager.sh} starts one: its memory components and CPU cores worked
     * out from {@code conf} (as {@code BashJavaUtils} does) and passed as JVM options and {@code -D} settings, without
     * which {@link TaskManagerRunner} refuses to start ("taskmanager.cpu.cores is not set").
     */
    private static Process taskManager(Path conf, Path log) throws Exception {
        TaskExecutorProcessSpec spec = TaskExecutorProcessUtils.processSpecFromConfig(GlobalConfiguration.loadConfiguration(conf.toString()));
        List<String> jvm = List.of(ProcessMemoryUtils.generateJvmParametersStr(spec).strip().split("\\s+"));
        List<String> args = new ArrayList<>(List.of("--configDir", conf.toString()));
        args.addAll(List.of(TaskExecutorProcessUtils.generateDynamicConfigsStr(spec).strip().split("\\s+")));
        return JvmProcess.start(jvm, log, TaskManagerRunner.class, args.toArray(String[]::new));
    }

    private static String readLog(Path log) {
        try {
            return new String(Files.readAllBytes(log), java.nio.charset.StandardCharsets.ISO_8859_1); // any bytes
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static List<TrainerEvent> events(String bootstrap) {
        return Topics.readCommitted(bootstrap, "tm.events").stream().map(r -> TrainerEvent.fromJson(Topics.utf8(r.value()))).toList();
    }

    /** The first checkpoint the job completed, polling {@code checkpoint.dir} (the cluster's JVMs share this disk). */
    private static String awaitCheckpoint(String checkpointDir, List<Process> cluster, Path logs, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            Optional<String> c = RetainedCheckpoints.latest(checkpointDir);
            if (c.isPresent()) return c.get();
            if (cluster.stream().anyMatch(p -> !p.isAlive())) throw new AssertionError("a cluster JVM exited; see the logs in " + logs);
            TimeUnit.MILLISECONDS.sleep(100); // polling the folder Flink writes
        }
        throw new AssertionError("no completed checkpoint within " + timeout + "; see the JobManager's and TaskManagers' logs in " + logs);
    }
}
