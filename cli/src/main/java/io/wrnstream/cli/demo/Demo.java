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
import io.wrnstream.jobs.train.TrainerEvent;
import io.wrnstream.model.data.Dataset;
import io.wrnstream.model.data.Datasets;
import io.wrnstream.model.data.ReadOptions;
import io.wrnstream.model.data.Sample;
import io.wrnstream.model.data.Split;
import java.io.PrintStream;
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
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
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
            EmbeddedJob.Topics topics = new EmbeddedJob.Topics("demo");
            EmbeddedJob.createTopics(kafka, topics);
            int[] shape;
            long trained;
            if (dataset != null) {
                Dataset probe = Datasets.open(dataset, Split.TEST, ReadOptions.defaults().withLimit(1));
                shape = new int[] {probe.channels(), probe.height(), probe.width()};
                human.println("demo: dataset " + probe.description());
                IngestResult train = new Ingest(IngestOptions.builder(dataset, Split.TRAIN, topics.train(), kafka.bootstrapServers())
                        .limit(maxImages == null ? 0 : (int) Math.min(Integer.MAX_VALUE, maxImages)).build()).run();
                new Ingest(IngestOptions.builder(dataset, Split.TEST, topics.test(), kafka.bootstrapServers()).limit(evalLimit).build()).run();
                human.println("demo: " + train.toHumanLine());
                trained = train.records();
            } else {
                human.println("demo: NO DATASET FOUND: using a SYNTHETIC set (class-coloured noise, 3x32x32, 10 classes); "
                        + "pass --data for real images");
                shape = new int[] {3, 32, 32};
                kafka.createTopics(2, topics.train(), topics.test());
                trained = synthetic(kafka, topics.train(), (int) (maxImages == null ? Defaults.DEMO_SYNTHETIC_IMAGES : maxImages), 1);
                synthetic(kafka, topics.test(), evalLimit, 2);
            }
            Map<String, String> m = EmbeddedJob.settings(kafka, topics, outDir);
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
            EmbeddedJob.Outcome outcome = EmbeddedJob.run(env, config, kafka, topics, outDir, "wrn-stream demo: " + model, client -> {
                human.println("demo: Flink web UI at http://localhost:" + webUiPort + " (job " + client.getJobID() + ")");
                if (!config.get(JobConfig.PROMETHEUS_PORT).equals("0")) {
                    human.println("demo: Prometheus metrics at http://localhost:" + config.get(JobConfig.PROMETHEUS_PORT).split("-")[0]
                            + "/metrics (the first free port of " + config.get(JobConfig.PROMETHEUS_PORT) + ")");
                }
            }, new Printer());
            if (outcome.trainedAndEvaluated()) human.println("demo: training and its final evaluation are done; the job was stopped with a savepoint");
            human.println("demo: finished. Final model: " + outDir.resolve("final.wrnmodel"));
            if (outcome.savepoint() != null) {
                human.println("demo: savepoint (restart from it with Flink's execution.state-recovery.path): " + outcome.savepoint());
            }
            human.println("demo: checkpoint directory: " + outDir.resolve("checkpoints"));
            human.println("demo: published models: " + outDir.resolve("models") + " (announced on " + topics.modelUpdates() + ")");
        }
        return 0;
    }

    /** Prints results (stdout JSON, stderr summary) and trainer progress (stderr), and the throughput line at the end. */
    private final class Printer implements EmbeddedJob.Listener {
        private TrainerEvent firstStep;

        @Override
        public void evaluation(Evaluation e, String line) {
            json.println(line);
            human.printf("demo: eval v%d step %d (%.2f epochs): test error %.2f%%, loss %.4f on %d images%n", e.modelVersion(),
                    e.step(), e.epochs(), 100 * e.testError(), e.testLoss(), e.images());
        }

        @Override
        public void event(TrainerEvent t) {
            if (t.kind() == TrainerEvent.Kind.STEP && firstStep == null) firstStep = t;
            if (t.kind() == TrainerEvent.Kind.STEP) {
                human.printf("demo: step %d, %d images, loss %.4f, lr %.4f, %.1f images/s%n", t.step(), t.imagesSeen(), t.loss(),
                        t.learningRate(), t.imagesPerSecond());
            } else {
                human.printf("demo: %s at step %d (%d images)%n", t.kind(), t.step(), t.imagesSeen());
                if (t.kind() == TrainerEvent.Kind.FINISHED) json.println(trainedLine(firstStep, t));
            }
        }
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
