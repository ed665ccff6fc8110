package io.wrnstream.cli.demo;

import io.wrnstream.cli.Json;
import io.wrnstream.embedded.EmbeddedKafka;
import io.wrnstream.model.Defaults;

import io.wrnstream.jobs.TrainingJob;
import io.wrnstream.jobs.config.JobConfig;
import io.wrnstream.jobs.eval.Evaluation;
import io.wrnstream.kafka.format.ImageRecord;
import io.wrnstream.kafka.format.ImageRecordSerde;
import io.wrnstream.kafka.ingest.Ingest;
import io.wrnstream.kafka.ingest.IngestOptions;
import io.wrnstream.kafka.ingest.IngestResult;
import io.wrnstream.jobs.publish.KafkaIo;
import io.wrnstream.jobs.train.TrainerEvent;
import io.wrnstream.kafka.update.ModelUpdateTopic;
import io.wrnstream.model.data.Dataset;
import io.wrnstream.model.data.Datasets;
import io.wrnstream.model.data.ReadOptions;
import io.wrnstream.model.data.Sample;
import io.wrnstream.model.data.Split;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import org.apache.flink.api.common.JobExecutionResult;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code demo}: the whole system in one process. Starts an in-process Kafka broker and a Flink MiniCluster with its
 * web UI, ingests a dataset, runs the training job bounded by images or minutes, and shows the evaluation stream as
 * it comes (human lines on stderr, JSON lines on stdout). Leaves the final model file and the checkpoints in
 * {@code --out}.
 *
 * <pre>
 * wrn-stream demo                                   # one epoch of CIFAR-10, WRN-16-2, libtorch
 * wrn-stream demo --max-images 5000 --engine dl4j --out /tmp/wrn-demo
 * </pre>
 */
@Command(name = "demo", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Embedded Kafka + Flink MiniCluster: ingest a dataset, train bounded, stream evaluations.")
public final class Demo implements Callable<Integer> {

    @Option(names = "--data", paramLabel = "PATH",
            description = "Dataset (default: ../shared/datasets/cifar10-jpeg, else /usr/share/datasets/fashion-mnist, else a synthetic set).")
    Path data;

    @Option(names = "--model", defaultValue = Defaults.DEMO_MODEL, description = "Model wrn-D-K (default: ${DEFAULT-VALUE}).")
    String model;

    @Option(names = "--engine", defaultValue = Defaults.ENGINE, description = "Numeric engine: libtorch or dl4j (default: ${DEFAULT-VALUE}).")
    String engine;

    @Option(names = "--precision", defaultValue = Defaults.PRECISION, description = "fp32, bf16 (--engine libtorch) or auto: the engine's sensible default here (default: ${DEFAULT-VALUE}).")
    String precision;

    @Option(names = "--trainer-parallelism", defaultValue = "1",
            description = "Data-parallel trainer ranks, gradients all-reduced over Gloo (needs --engine libtorch) (default: ${DEFAULT-VALUE}).")
    int trainerParallelism;

    @Option(names = "--max-images", description = "Training images to ingest and train on (default: one epoch of the dataset, "
            + Defaults.DEMO_SYNTHETIC_IMAGES + " images of the synthetic set).")
    Long maxImages;

    @Option(names = "--max-minutes", defaultValue = "0", description = "Stop training after this many minutes, 0 = no bound (default: ${DEFAULT-VALUE}).")
    long maxMinutes;

    @Option(names = "--batch-size", defaultValue = Defaults.BATCH_SIZE_TEXT, description = "Minibatch size (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--eval-limit", defaultValue = "2000", description = "Held-out images per evaluation (default: ${DEFAULT-VALUE}).")
    int evalLimit;

    @Option(names = "--snapshot-steps", description = "Evaluate every N steps (default: a quarter of the run's steps, so four "
            + "evaluations and the final one).")
    Long snapshotSteps;

    @Option(names = "--out", defaultValue = "wrn-demo", description = "Output folder: model file and checkpoints (default: ${DEFAULT-VALUE}).")
    Path out;

    @Option(names = "--web-ui-port", defaultValue = "8081", description = "Port of the Flink web UI (default: ${DEFAULT-VALUE}).")
    int webUiPort;

    @Option(names = "--prometheus-port", defaultValue = JobConfig.DEFAULT_PROMETHEUS_PORTS,
            description = "Port or range of the Prometheus metrics endpoint, 0 = off (default: ${DEFAULT-VALUE}).")
    String prometheusPort;

    @Option(names = "--restore", paramLabel = "PATH|latest", defaultValue = "",
            description = "Resume from a savepoint or retained checkpoint (a path, or latest: the newest checkpoint under --out).")
    String restore;

    private final PrintStream human = System.err;
    private final PrintStream json = System.out;

    @Override
    public Integer call() throws Exception {
        Path dataset = data != null ? data : defaultDataset();
        Files.createDirectories(out);
        Path outDir = out.toAbsolutePath();
        human.println("demo: starting Kafka (in process)...");
        try (EmbeddedKafka kafka = EmbeddedKafka.start()) {
            kafka.createTopics(1, "demo.results", "demo.dead-letter", "demo.events");
            try (Admin admin = Admin.create(kafka.clientProperties())) {
                ModelUpdateTopic.ensure(admin, "demo.model-updates", (short) 1, EmbeddedKafka.TIMEOUT);
            }
            int[] shape;
            long trained;
            if (dataset != null) {
                Dataset probe = Datasets.open(dataset, Split.TEST, ReadOptions.defaults().withLimit(1));
                shape = new int[] {probe.channels(), probe.height(), probe.width()};
                human.println("demo: dataset " + probe.description());
                IngestResult train = new Ingest(IngestOptions.builder(dataset, Split.TRAIN, "demo.train", kafka.bootstrapServers())
                        .limit(maxImages == null ? 0 : (int) Math.min(Integer.MAX_VALUE, maxImages)).build()).run();
                new Ingest(IngestOptions.builder(dataset, Split.TEST, "demo.test", kafka.bootstrapServers()).limit(evalLimit).build()).run();
                human.println("demo: " + train.toHumanLine());
                trained = train.records();
            } else {
                human.println("demo: NO DATASET FOUND: using a SYNTHETIC set (class-coloured noise, 3x32x32, 10 classes); "
                        + "pass --data for real images");
                shape = new int[] {3, 32, 32};
                kafka.createTopics(2, "demo.train", "demo.test");
                trained = synthetic(kafka, "demo.train", (int) (maxImages == null ? Defaults.DEMO_SYNTHETIC_IMAGES : maxImages), 1);
                synthetic(kafka, "demo.test", evalLimit, 2);
            }
            Map<String, String> m = new HashMap<>();
            m.put("bootstrap-servers", kafka.bootstrapServers());
            m.put("topic.train", "demo.train");
            m.put("topic.test", "demo.test");
            m.put("topic.results", "demo.results");
            m.put("topic.dead-letter", "demo.dead-letter");
            m.put("topic.model-updates", "demo.model-updates");
            m.put("model.store", outDir.resolve("models").toUri().toString());
            m.put("model", model);
            m.put("engine", engine);
            m.put("precision", precision);
            m.put("trainer.parallelism", String.valueOf(trainerParallelism));
            if (trainerParallelism > 1) m.put("trainer.group-host", "127.0.0.1"); // every rank runs in this JVM
            m.put("input.shape", shape[0] + "x" + shape[1] + "x" + shape[2]);
            m.put("batch-size", String.valueOf(batchSize));
            // Train on what was ingested, at most --max-images: the trainer stops there and the demo then stops the job.
            long images = maxImages == null ? trained : Math.min(maxImages, trained);
            m.put("max-images", String.valueOf(images));
            m.put("max-time", maxMinutes + "min");
            m.put("eval.limit", String.valueOf(evalLimit));
            m.put("snapshot.steps", String.valueOf(snapshotSteps != null ? snapshotSteps : Math.max(1, images / batchSize / 4)));
            m.put("optim.epoch-size", String.valueOf(Math.max(1, trained)));
            // Unbounded, like a real stream: the job is stopped with a savepoint once training and its last evaluation
            // are done, so a restorable state is left behind (a job that finishes on its own discards its checkpoints).
            m.put("source.bounded", "false");
            m.put("source.start", "earliest");
            m.put("checkpoint.interval", "10s");
            m.put("checkpoint.dir", outDir.resolve("checkpoints").toUri().toString());
            m.put("model.output", outDir.resolve("final.wrnmodel").toString());
            m.put("metrics.prometheus.port", prometheusPort);
            m.put("restore", restore);
            JobConfig config = JobConfig.of(m);
            config.logLines().forEach(l -> human.println("demo: config " + l));
            human.println("demo: training " + config.wrn().name() + " on " + config.trainConfig().engine() + " in "
                    + config.trainConfig().precision() + " (precision " + config.get(JobConfig.PRECISION) + "), batch "
                    + config.get(JobConfig.BATCH_SIZE) + ", " + images + " images");

            Configuration flink = TrainingJob.flinkConfiguration(config);
            flink.set(RestOptions.PORT, webUiPort);
            // One slot per parallel subtask index: the decoders' parallelism or the trainer ranks, whichever is larger.
            flink.set(org.apache.flink.configuration.TaskManagerOptions.NUM_TASK_SLOTS,
                    Math.max(config.get(JobConfig.PARALLELISM), config.get(JobConfig.TRAINER_PARALLELISM)));
            StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironmentWithWebUI(flink);
            new TrainingJob(config).defineWorkflow(env, KafkaIo.trainingSource(config), new TrainingJob.Sinks(KafkaIo.resultsSink(config),
                    KafkaIo.deadLetterSink(config), KafkaIo.eventSink(config, "demo.events"), KafkaIo.modelUpdateSink(config)));
            JobClient client = env.executeAsync("wrn-stream demo: " + model);
            human.println("demo: Flink web UI at http://localhost:" + webUiPort + " (job " + client.getJobID() + ")");
            if (!config.get(JobConfig.PROMETHEUS_PORT).equals("0")) {
                human.println("demo: Prometheus metrics at http://localhost:" + config.get(JobConfig.PROMETHEUS_PORT).split("-")[0]
                        + "/metrics (the first free port of " + config.get(JobConfig.PROMETHEUS_PORT) + ")");
            }
            CompletableFuture<JobExecutionResult> done = client.getJobExecutionResult();
            boolean trainedAndEvaluated = follow(kafka, done);
            String savepoint = null;
            if (trainedAndEvaluated && !done.isDone()) {
                human.println("demo: training and its final evaluation are done; stopping the job with a savepoint");
                savepoint = client.stopWithSavepoint(false, outDir.resolve("savepoints").toUri().toString(),
                        SavepointFormatType.CANONICAL).get();
            }
            done.get();
            human.println("demo: finished. Final model: " + outDir.resolve("final.wrnmodel"));
            if (savepoint != null) {
                human.println("demo: savepoint (restart from it with Flink's execution.state-recovery.path): " + savepoint);
            }
            human.println("demo: checkpoint directory: " + outDir.resolve("checkpoints"));
            human.println("demo: published models: " + outDir.resolve("models") + " (announced on demo.model-updates)");
        }
        return 0;
    }

    /**
     * Prints results (stdout JSON, stderr summary) and trainer progress (stderr) until the trainer has finished and the
     * evaluation of its final model has arrived (returns true), or the job ends (returns false).
     */
    private boolean follow(EmbeddedKafka kafka, CompletableFuture<?> done) {
        Properties p = new Properties();
        p.put("bootstrap.servers", kafka.bootstrapServers());
        p.put("isolation.level", "read_committed");
        p.put("group.id", "demo-follower");
        p.put("auto.offset.reset", "earliest");
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            c.subscribe(List.of("demo.results", "demo.events"));
            int idlePollsAfterEnd = 0;
            long finishedStep = -1;
            TrainerEvent firstStep = null;
            while (idlePollsAfterEnd < 3) {
                var records = c.poll(Duration.ofMillis(500));
                for (ConsumerRecord<byte[], byte[]> r : records) {
                    String line = new String(r.value(), StandardCharsets.UTF_8);
                    if (r.topic().equals("demo.results")) {
                        Evaluation e = Evaluation.fromJson(line);
                        json.println(line);
                        human.printf("demo: eval v%d step %d (%.2f epochs): test error %.2f%%, loss %.4f on %d images%n", e.modelVersion(),
                                e.step(), e.epochs(), 100 * e.testError(), e.testLoss(), e.images());
                        if (finishedStep >= 0 && e.step() >= finishedStep) return true;
                    } else {
                        TrainerEvent t = TrainerEvent.fromJson(line);
                        if (t.kind() == TrainerEvent.Kind.STEP && firstStep == null) firstStep = t;
                        if (t.kind() == TrainerEvent.Kind.STEP) {
                            human.printf("demo: step %d, %d images, loss %.4f, lr %.4f, %.1f images/s%n", t.step(), t.imagesSeen(), t.loss(),
                                    t.learningRate(), t.imagesPerSecond());
                        } else {
                            human.printf("demo: %s at step %d (%d images)%n", t.kind(), t.step(), t.imagesSeen());
                            if (t.kind() == TrainerEvent.Kind.FINISHED) {
                                finishedStep = t.step();
                                json.println(trainedLine(firstStep, t));
                            }
                        }
                    }
                }
                if (done.isDone() && records.isEmpty()) idlePollsAfterEnd++;
            }
        }
        return false;
    }

    /**
     * The pipeline's training throughput as one JSON line: images into the trainer per wall-clock second, from the first
     * progress event to the end of training (start-up and the first steps excluded).
     */
    static String trainedLine(TrainerEvent first, TrainerEvent finished) {
        double rate = Double.NaN;
        if (first != null && finished.wallMs() > first.wallMs()) {
            rate = (finished.imagesSeen() - first.imagesSeen()) * 1000.0 / (finished.wallMs() - first.wallMs());
        }
        Map<String, Object> line = new LinkedHashMap<>();
        line.put("format", TRAINED_FORMAT);
        line.put("event", "trained");
        line.put("step", finished.step());
        line.put("images_seen", finished.imagesSeen());
        line.put("pipeline_images_per_sec", Double.isFinite(rate) ? Math.round(rate * 100) / 100.0 : null);
        return Json.line(line);
    }

    /** Format of the demo's end-of-training line. */
    public static final String TRAINED_FORMAT = "wrn-stream.demo-trained/1";

    private static Path defaultDataset() {
        for (Path p : List.of(Path.of("../shared/datasets/cifar10-jpeg"), Path.of("/usr/share/datasets/fashion-mnist"))) {
            if (Files.exists(p)) return p;
        }
        return null;
    }

    /** Writes {@code n} synthetic images whose colour depends on the class (so a model can learn them). */
    static long synthetic(EmbeddedKafka kafka, String topic, int n, long seed) throws Exception {
        ImageRecordSerde serde = new ImageRecordSerde(10);
        Properties p = new Properties();
        p.put("bootstrap.servers", kafka.bootstrapServers());
        SplittableRandom r = new SplittableRandom(seed);
        List<java.util.concurrent.Future<?>> sends = new java.util.ArrayList<>();
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
            for (int i = 0; i < n; i++) {
                int label = r.nextInt(10);
                byte[] px = new byte[3 * 32 * 32];
                for (int c = 0; c < 3; c++) {
                    int base = 40 + 20 * ((label + 3 * c) % 10);
                    for (int j = 0; j < 1024; j++) px[c * 1024 + j] = (byte) Math.max(0, Math.min(255, base + r.nextInt(-40, 41)));
                }
                ImageRecord rec = ImageRecord.raw(new Sample(i, label, 3, 32, 32, px), 0);
                sends.add(producer.send(new ProducerRecord<>(topic, rec.key(), serde.encode(rec))));
            }
            producer.flush();
            for (var f : sends) f.get();  // every send checked: a failed one fails the demo, nothing is silently lost
        }
        return n;
    }
}
