package io.wrnstream.cli.demo;

import io.wrnstream.embedded.EmbeddedKafka;
import io.wrnstream.jobs.TrainingJob;
import io.wrnstream.jobs.config.JobConfig;
import io.wrnstream.jobs.eval.Evaluation;
import io.wrnstream.jobs.publish.KafkaIo;
import io.wrnstream.jobs.train.TrainerEvent;
import io.wrnstream.kafka.update.ModelUpdateTopic;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import org.apache.flink.api.common.JobExecutionResult;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * The training job on an embedded broker, as {@code demo} and {@code reproduce --streaming} run it: topics under one
 * prefix, the job's settings for a local run, then the job followed on its results and events topics until training
 * and the evaluation of its final model are done, when it is stopped with a savepoint (a job that finishes on its own
 * discards its checkpoints).
 *
 * <pre>{@code
 * EmbeddedJob.Topics t = new EmbeddedJob.Topics("demo");
 * EmbeddedJob.createTopics(kafka, t);
 * Map<String, String> m = EmbeddedJob.settings(kafka, t, outDir);   // then model, engine, max-images, ...
 * EmbeddedJob.Outcome o = EmbeddedJob.run(env, JobConfig.of(m), kafka, t, "name", client -> {}, listener);
 * }</pre>
 */
public final class EmbeddedJob {
    private EmbeddedJob() {}

    /** Topic names under one prefix: {@code PREFIX.train}, {@code PREFIX.test}, {@code PREFIX.results}, ... */
    public record Topics(String prefix) {
        public String train() { return prefix + ".train"; }
        public String test() { return prefix + ".test"; }
        public String results() { return prefix + ".results"; }
        public String deadLetter() { return prefix + ".dead-letter"; }
        public String events() { return prefix + ".events"; }
        public String modelUpdates() { return prefix + ".model-updates"; }
    }

    /** What the follower sees, as it arrives. */
    public interface Listener {
        /** An evaluation from the results topic ({@code json} is the record as published). */
        void evaluation(Evaluation e, String json);

        /** A trainer progress event (step, checkpoint, restore, finish). */
        void event(TrainerEvent t);
    }

    /**
     * How the job ended.
     *
     * @param trainedAndEvaluated true when training finished and its final model's evaluation arrived
     * @param savepoint the savepoint the job was stopped with, or null
     */
    public record Outcome(boolean trainedAndEvaluated, String savepoint) {}

    /** Creates the results, dead-letter, events and model-update topics (train and test come from ingest). */
    public static void createTopics(EmbeddedKafka kafka, Topics t) throws Exception {
        kafka.createTopics(1, t.results(), t.deadLetter(), t.events());
        try (Admin admin = Admin.create(kafka.clientProperties())) {
            ModelUpdateTopic.ensure(admin, t.modelUpdates(), (short) 1, EmbeddedKafka.TIMEOUT);
        }
    }

    /**
     * The job settings of a local run under {@code outDir}: broker and topics, model store, checkpoints every 10 s, the
     * final model file, an unbounded source read from the start. The caller adds the model and the budget.
     */
    public static Map<String, String> settings(EmbeddedKafka kafka, Topics t, Path outDir) {
        Map<String, String> m = new HashMap<>();
        m.put("bootstrap-servers", kafka.bootstrapServers());
        m.put("topic.train", t.train());
        m.put("topic.test", t.test());
        m.put("topic.results", t.results());
        m.put("topic.dead-letter", t.deadLetter());
        m.put("topic.model-updates", t.modelUpdates());
        m.put("model.store", outDir.resolve("models").toUri().toString());
        // Unbounded, like a real stream: the job is stopped with a savepoint once training and its last evaluation
        // are done, so a restorable state is left behind.
        m.put("source.bounded", "false");
        m.put("source.start", "earliest");
        m.put("checkpoint.interval", "10s");
        m.put("checkpoint.dir", outDir.resolve("checkpoints").toUri().toString());
        m.put("model.output", outDir.resolve("final.wrnmodel").toString());
        return m;
    }

    /**
     * Submits the job to {@code env}, follows it until training and its last evaluation are done (or the job ends),
     * stops it with a savepoint under {@code outDir/savepoints} and waits for it to end.
     *
     * @param started called once the job is submitted
     */
    public static Outcome run(StreamExecutionEnvironment env, JobConfig config, EmbeddedKafka kafka, Topics t, Path outDir, String jobName,
                              Consumer<JobClient> started, Listener listener) throws Exception {
        new TrainingJob(config).defineWorkflow(env, KafkaIo.trainingSource(config), new TrainingJob.Sinks(KafkaIo.resultsSink(config),
                KafkaIo.deadLetterSink(config), KafkaIo.eventSink(config, t.events()), KafkaIo.modelUpdateSink(config)));
        JobClient client = env.executeAsync(jobName);
        started.accept(client);
        CompletableFuture<JobExecutionResult> done = client.getJobExecutionResult();
        boolean trainedAndEvaluated = follow(kafka, t, done, listener);
        String savepoint = null;
        if (trainedAndEvaluated && !done.isDone()) {
            savepoint = client.stopWithSavepoint(false, outDir.resolve("savepoints").toUri().toString(), SavepointFormatType.CANONICAL).get();
        }
        done.get();
        return new Outcome(trainedAndEvaluated, savepoint);
    }

    /**
     * Hands results and trainer events to {@code listener} until the trainer has finished and the evaluation of its
     * final model has arrived (returns true), or the job ends (returns false).
     */
    private static boolean follow(EmbeddedKafka kafka, Topics t, CompletableFuture<?> done, Listener listener) {
        Properties p = new Properties();
        p.put("bootstrap.servers", kafka.bootstrapServers());
        p.put("isolation.level", "read_committed");
        p.put("group.id", t.prefix() + "-follower");
        p.put("auto.offset.reset", "earliest");
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            c.subscribe(List.of(t.results(), t.events()));
            int idlePollsAfterEnd = 0;
            long finishedStep = -1;
            while (idlePollsAfterEnd < 3) {
                var records = c.poll(Duration.ofMillis(500));
                for (ConsumerRecord<byte[], byte[]> r : records) {
                    String line = new String(r.value(), StandardCharsets.UTF_8);
                    if (r.topic().equals(t.results())) {
                        Evaluation e = Evaluation.fromJson(line);
                        listener.evaluation(e, line);
                        if (finishedStep >= 0 && e.step() >= finishedStep) return true;
                    } else {
                        TrainerEvent ev = TrainerEvent.fromJson(line);
                        listener.event(ev);
                        if (ev.kind() == TrainerEvent.Kind.FINISHED) finishedStep = ev.step();
                    }
                }
                if (done.isDone() && records.isEmpty()) idlePollsAfterEnd++;
            }
        }
        return false;
    }
}
