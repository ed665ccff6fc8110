package io.wrnstream.cli;

import io.wrnstream.embedded.EmbeddedKafka;
import io.wrnstream.jobs.augment.AugmentFunction;
import io.wrnstream.jobs.augment.AugmentedImage;
import io.wrnstream.jobs.config.JobConfig;
import io.wrnstream.jobs.decode.DecodeFunction;
import io.wrnstream.jobs.decode.KafkaImage;
import io.wrnstream.jobs.decode.LabelledImage;
import io.wrnstream.jobs.publish.KafkaIo;
import io.wrnstream.kafka.ingest.Ingest;
import io.wrnstream.kafka.ingest.IngestOptions;
import io.wrnstream.kafka.ingest.IngestResult;
import io.wrnstream.model.data.Dataset;
import io.wrnstream.model.data.Datasets;
import io.wrnstream.model.data.ReadOptions;
import io.wrnstream.model.data.Split;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.TaskManagerOptions;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * How many images per second the pipeline can feed a trainer, with no trainer: the job's own source (Kafka), decode
 * and augment at parallelism P, then the edge into the trainer (a shuffle to one subtask, as the job has with one rank)
 * and a counter in place of the trainer. The rate is counted between the first and the last image that reach it, so
 * start-up is left out; {@code P} = 1 gives the rate one core delivers. One JSON line per run
 * ({@code "format":"wrn-stream.bench-feed/1"}), a table on stderr.
 */
@Command(name = "bench-feed", mixinStandardHelpOptions = true,
        description = "Feed benchmark: images/s the Kafka -> decode -> augment -> trainer-edge pipeline delivers to a no-op trainer, per parallelism.")
public final class FeedBenchCommand implements Callable<Integer> {
    /** Format of the JSON lines. */
    public static final String FORMAT = "wrn-stream.bench-feed/1";

    @Option(names = "--data", paramLabel = "PATH", description = "Dataset to ingest (default: ../shared/datasets/cifar10-jpeg).")
    Path data;

    @Option(names = "--images", defaultValue = "8192", description = "Images ingested and fed per run. Default: ${DEFAULT-VALUE}.")
    int images;

    @Option(names = "--parallelism", split = ",", defaultValue = "1,2", description = "Decode/augment parallelisms to run, in turn. Default: ${DEFAULT-VALUE}.")
    List<Integer> parallelisms;

    @Option(names = "--rounds", defaultValue = "2", description = "Rounds over the parallelisms (alternated). Default: ${DEFAULT-VALUE}.")
    int rounds;

    /** Images that reached the counter, and the first and last arrival (nanos) of the current run. */
    static final AtomicLong COUNT = new AtomicLong();
    static final AtomicLong FIRST = new AtomicLong();
    static final AtomicLong LAST = new AtomicLong();

    @Override
    public Integer call() throws Exception {
        if (images < 100) throw new IllegalArgumentException("Invalid value " + images + " for --images: at least 100");
        for (int p : parallelisms) {
            if (p < 1 || p > 64) throw new IllegalArgumentException("Invalid value " + p + " in --parallelism: an integer in [1, 64]");
        }
        if (rounds < 1) throw new IllegalArgumentException("Invalid value " + rounds + " for --rounds: at least 1");
        Path dataset = data != null ? data : Path.of("../shared/datasets/cifar10-jpeg");
        if (!Files.exists(dataset)) {
            throw new IllegalArgumentException("Invalid value " + dataset + " for --data: not found (the shared CIFAR-10 JPEG zips, or any --data the other commands take)");
        }
        PrintStream human = System.err;
        Dataset probe = Datasets.open(dataset, Split.TRAIN, ReadOptions.defaults().withLimit(1));
        String shape = probe.channels() + "x" + probe.height() + "x" + probe.width();
        int partitions = parallelisms.stream().mapToInt(Integer::intValue).max().orElse(1);
        List<Map<String, Object>> results = new ArrayList<>();
        try (EmbeddedKafka kafka = EmbeddedKafka.start()) {
            IngestResult in = new Ingest(IngestOptions.builder(dataset, Split.TRAIN, "feed.train", kafka.bootstrapServers())
                    .limit(images).partitions(partitions).build()).run();
            human.println("bench-feed: " + in.toHumanLine());
            for (int r = 1; r <= rounds; r++) {
                for (int p : parallelisms) {
                    Map<String, Object> line = run(kafka, p, r, (int) in.records(), shape);
                    results.add(line);
                    System.out.println(Json.line(line));
                    System.out.flush();
                }
            }
        }
        human.println();
        human.println(String.format(Locale.ROOT, "%-11s %-6s %12s %18s", "parallelism", "round", "images/s", "images/s per core"));
        for (Map<String, Object> l : results) {
            human.println(String.format(Locale.ROOT, "%-11s %-6s %12.0f %18.0f", l.get("parallelism"), l.get("round"),
                    (double) l.get("images_per_sec"), (double) l.get("images_per_sec_per_core")));
        }
        return 0;
    }

    private Map<String, Object> run(EmbeddedKafka kafka, int p, int round, int expected, String inputShape) throws Exception {
        Map<String, String> m = new HashMap<>(Map.of("bootstrap-servers", kafka.bootstrapServers(), "topic.train", "feed.train",
                "group-id", "feed-" + p + "-" + round, "source.bounded", "true", "source.start", "earliest",
                "parallelism", String.valueOf(p), "input.shape", inputShape));
        JobConfig config = JobConfig.of(m);
        Configuration flink = new Configuration();
        flink.set(TaskManagerOptions.NUM_TASK_SLOTS, p + 1);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(p, flink);
        int[] shape = config.inputShape();
        DataStream<KafkaImage> raw = env.fromSource(KafkaIo.trainingSource(config), WatermarkStrategy.noWatermarks(), "kafka").setParallelism(p);
        DataStream<AugmentedImage> augmented = raw
                .process(new DecodeFunction(config.get(JobConfig.CLASSES), shape[0], shape[1], shape[2])).setParallelism(p)
                .map(new AugmentFunction(config.get(JobConfig.SEED))).setParallelism(p);
        // The edge into a single trainer: serialised and shuffled, as in the job with one rank.
        augmented.rebalance().map(new Count()).setParallelism(1).sinkTo(new DiscardingSink<>()).setParallelism(1);
        COUNT.set(0);
        FIRST.set(0);
        LAST.set(0);
        long t0 = System.nanoTime();
        env.execute("bench-feed p=" + p);
        double wall = (System.nanoTime() - t0) / 1e9;
        long n = COUNT.get();
        if (n != expected) {
            throw new IllegalStateException("bench-feed: " + n + " of " + expected + " images of " + inputShape + " reached the counter "
                    + "(the others were dead letters: see the log)");
        }
        double seconds = (LAST.get() - FIRST.get()) / 1e9;
        double rate = (n - 1) / Math.max(seconds, 1e-9);
        Map<String, Object> line = new LinkedHashMap<>();
        line.put("format", FORMAT);
        line.put("round", round);
        line.put("parallelism", p);
        line.put("images", n);
        line.put("images_per_sec", Math.round(rate * 10) / 10.0);
        line.put("images_per_sec_per_core", Math.round(rate / Math.min(p, Runtime.getRuntime().availableProcessors()) * 10) / 10.0);
        line.put("bytes_per_image_into_trainer", shape[0] * shape[1] * shape[2]);
        line.put("wall_seconds", Math.round(wall * 10) / 10.0);
        line.put("cores", Runtime.getRuntime().availableProcessors());
        line.put("load_avg", loadAverage());
        return line;
    }

    private static double loadAverage() {
        try {
            return Double.parseDouble(Files.readString(Path.of("/proc/loadavg")).split(" ")[0]);
        } catch (Exception e) {
            return -1;
        }
    }

    /** The no-op trainer: counts, and notes the first and last arrival. */
    static final class Count implements MapFunction<AugmentedImage, Long> {
        private static final long serialVersionUID = 1L;

        @Override
        public Long map(AugmentedImage a) {
            long now = System.nanoTime();
            FIRST.compareAndSet(0, now);
            LAST.set(now);
            return COUNT.incrementAndGet();
        }
    }
}
