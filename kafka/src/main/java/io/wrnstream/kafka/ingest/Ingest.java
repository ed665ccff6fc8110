package io.wrnstream.kafka.ingest;

import io.wrnstream.kafka.format.ImageEncoding;
import io.wrnstream.kafka.format.ImageHeaders;
import io.wrnstream.kafka.format.ImageRecord;
import io.wrnstream.kafka.format.ImageRecordSerde;
import io.wrnstream.model.progress.Progress;
import io.wrnstream.model.data.Dataset;
import io.wrnstream.model.data.Datasets;
import io.wrnstream.model.data.ReadOptions;
import io.wrnstream.model.data.Sample;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Publishes one dataset split to a Kafka topic as image records ({@link ImageRecordSerde}), {@code epochs} times,
 * each epoch in its own shuffled order derived from the seed.
 *
 * <p>The topic is created with the configured partition count when missing, and used only once every partition has a
 * leader that takes writes. The producer is idempotent with {@code acks=all}; every send's outcome is checked, the first
 * failure stops the run (after a flush) with an {@link IngestException} naming the brokers and the topic. Each record
 * has key = sample id (8 bytes), headers {@code wrn.split}, {@code wrn.source}, {@code wrn.format}.
 *
 * <pre>{@code
 * IngestResult r = new Ingest(IngestOptions.builder(Path.of("../shared/datasets/cifar10-jpeg"), Split.TEST,
 *         "cifar10-test", kafka.bootstrapServers()).limit(300).build()).run();
 * }</pre>
 */
public final class Ingest {

    private final IngestOptions options;
    private final PrintStream err;
    private final boolean terminal;

    /** An ingest reporting progress on {@code System.err}. */
    public Ingest(IngestOptions options) {
        this(options, System.err, Progress.attachedToTerminal());
    }

    /**
     * An ingest reporting progress on {@code err}: a redrawn bar when {@code terminal}, else a plain line every 5 s.
     */
    public Ingest(IngestOptions options, PrintStream err, boolean terminal) {
        this.options = options;
        this.err = err;
        this.terminal = terminal;
    }

    /** The records one epoch publishes, in id order, with epoch 0; plus where they came from. */
    record Prepared(List<ImageRecord> records, int numClasses, String source, String description, long skipped) {
    }

    /**
     * Reads the data, makes sure the topic is ready and publishes.
     *
     * @throws IngestException when the data cannot be read, Kafka cannot be reached in time, or a write fails
     */
    public IngestResult run() {
        Prepared prepared = prepare();
        if (prepared.records().isEmpty()) throw new IngestException("No images to publish from " + options.data());
        err.printf(Locale.ROOT, "ingest: %,d images of %s -> topic %s at %s (epochs %d, encoding %s, seed %d,"
                        + " partitions %d, rate %s, timeout %d s)%n",
                prepared.records().size(), prepared.description(), options.topic(), options.bootstrapServers(),
                options.epochs(), describeEncoding(prepared), options.seed(), options.partitions(),
                options.rate() > 0 ? options.rate() + " images/s" : "unlimited", options.timeout().toSeconds());
        ensureTopic();
        return publish(prepared);
    }

    // ---------------------------------------------------------------- data

    /** Reads the split and encodes one epoch's records (reused by every epoch: only the epoch field changes). */
    Prepared prepare() {
        if (!Files.exists(options.data())) {
            throw new IngestException("No dataset at " + options.data().toAbsolutePath() + ": expected a folder or file"
                    + " with CIFAR binary batches, IDX files, a cifar-*.tar.gz, a zip of JPEG/PNG images or a folder "
                    + options.split().id() + "/<class>/<image>");
        }
        try {
            IngestEncoding enc = options.encoding();
            if (enc == IngestEncoding.AUTO || enc == IngestEncoding.SOURCE) {
                Optional<EncodedImageSource> stored = EncodedImageSource.detect(options.data(), options.split());
                if (stored.isPresent()) {
                    try (EncodedImageSource src = stored.get()) {
                        return fromStored(src);
                    }
                }
            }
            return fromDataset(enc == IngestEncoding.AUTO || enc == IngestEncoding.SOURCE ? IngestEncoding.RAW : enc);
        } catch (IOException e) {
            throw new IngestException("Cannot read dataset " + options.data() + " (split " + options.split().id() + "): "
                    + e.getMessage(), e);
        }
    }

    private Prepared fromStored(EncodedImageSource src) throws IOException {
        long[] skipped = {0};
        int[] indices = subset(src.size());
        List<ImageRecord> records = new ArrayList<>(indices.length);
        for (EncodedImageSource.EncodedImage im : src.read(indices, options.skipCorrupt(), skipped)) {
            records.add(new ImageRecord(im.id(), 0, im.label(), im.width(), im.height(), im.channels(), im.encoding(),
                    im.bytes()));
        }
        return new Prepared(records, src.classNames().size(), src.name(),
                src.name() + " (stored JPEG/PNG), " + options.split().id(), skipped[0]);
    }

    private Prepared fromDataset(IngestEncoding enc) throws IOException {
        Dataset ds = Datasets.open(options.data(), options.split(),
                ReadOptions.defaults().withSkipCorrupt(options.skipCorrupt()));
        ImageEncoding target = switch (enc) {
            case PNG -> ImageEncoding.PNG;
            case JPEG -> ImageEncoding.JPEG;
            default -> ImageEncoding.RAW;
        };
        List<ImageRecord> records = new ArrayList<>();
        for (int i : subset(ds.size())) {
            Sample s = ds.samples().get(i);
            records.add(ImageRecord.of(s, 0, target));
        }
        return new Prepared(records, ds.numClasses(), options.data().getFileName().toString(), ds.description(),
                ds.skipped());
    }

    /** Positions to publish, ascending: all, or a seeded random subset of {@code limit} that every epoch shares. */
    int[] subset(int n) {
        int[] all = new int[n];
        for (int i = 0; i < n; i++) all[i] = i;
        if (options.limit() == 0 || options.limit() >= n) return all;
        shuffle(all, new SplittableRandom(options.seed() ^ 0x5DEECE66DL)); // own stream: differs from epoch orders
        int[] pick = Arrays.copyOf(all, options.limit());
        Arrays.sort(pick);
        return pick;
    }

    /** The publishing order of {@code epoch}: a permutation of 0..n-1 that depends only on the seed and the epoch. */
    public static int[] epochOrder(int n, long seed, int epoch) {
        int[] order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        // A generator of its own per epoch: epoch e's order does not depend on how far earlier epochs got.
        shuffle(order, new SplittableRandom(seed * 0x9E3779B97F4A7C15L + epoch));
        return order;
    }

    private static void shuffle(int[] a, SplittableRandom r) {
        for (int i = a.length - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            int t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
    }

    private String describeEncoding(Prepared p) {
        Map<ImageEncoding, Integer> counts = new HashMap<>();
        for (ImageRecord r : p.records()) counts.merge(r.encoding(), 1, Integer::sum);
        return options.encoding() + " -> " + counts.keySet().stream().map(e -> e.name().toLowerCase(Locale.ROOT))
                .sorted().toList();
    }

    // ---------------------------------------------------------------- Kafka

    private Map<String, Object> adminConfig() {
        Map<String, Object> c = new HashMap<>();
        c.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, options.bootstrapServers());
        c.put(AdminClientConfig.CLIENT_ID_CONFIG, "wrn-ingest-admin");
        c.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, timeoutMs());
        c.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, timeoutMs());
        options.kafkaProperties().forEach((k, v) -> {
            if (AdminClientConfig.configNames().contains(k)) c.put(k, v); // producer-only keys would only be warned about
        });
        return c;
    }

    private void ensureTopic() {
        try (Admin admin = Admin.create(adminConfig())) {
            java.util.Set<String> created = Topics.ensure(admin, options.partitions(), (short) -1, options.timeout(),
                    List.of(options.topic()));
            if (!created.isEmpty()) {
                err.println("ingest: created topic " + options.topic() + " with " + options.partitions() + " partitions");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IngestException("Interrupted while preparing topic " + options.topic(), e);
        } catch (ExecutionException | java.util.concurrent.TimeoutException | KafkaException e) {
            throw kafkaFailure("preparing topic " + options.topic(), e);
        }
    }

    private Map<String, Object> producerConfig() {
        int linger = 10;
        Map<String, Object> c = new HashMap<>();
        c.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, options.bootstrapServers());
        c.put(ProducerConfig.CLIENT_ID_CONFIG, "wrn-ingest");
        c.put(ProducerConfig.ACKS_CONFIG, "all");
        c.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        c.put(ProducerConfig.LINGER_MS_CONFIG, linger);
        c.put(ProducerConfig.BATCH_SIZE_CONFIG, 256 * 1024);
        c.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, timeoutMs());
        c.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, timeoutMs());
        c.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 2 * timeoutMs() + linger);
        c.putAll(options.kafkaProperties());
        // The format fixes these: the caller's properties must not swap them out.
        c.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        c.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        return c;
    }

    private static String mbPerSecond(long bytes, Progress progress) {
        return String.format(java.util.Locale.ROOT, "%.1f MB/s", bytes / 1e6 / Math.max(1e-9, progress.elapsedSeconds()));
    }

    private IngestResult publish(Prepared prepared) {
        ImageRecordSerde serde = new ImageRecordSerde(prepared.numClasses());
        List<ImageRecord> records = prepared.records();
        long total = (long) records.size() * options.epochs();
        RateLimiter limiter = options.rate() > 0 ? new RateLimiter(options.rate()) : null;
        Progress progress = new Progress("ingest", total, "records", err, terminal);
        AtomicReference<Exception> firstError = new AtomicReference<>();
        AtomicLong acked = new AtomicLong();
        AtomicLong ackedBytes = new AtomicLong();
        long sent = 0;
        long sentBytes = 0;
        long start = System.nanoTime();
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(producerConfig())) {
            try {
                send:
                for (int epoch = 0; epoch < options.epochs(); epoch++) {
                    for (int i : epochOrder(records.size(), options.seed(), epoch)) {
                        if (firstError.get() != null) break send;
                        if (limiter != null) limiter.acquire();
                        ImageRecord r = records.get(i);
                        byte[] key = r.key();
                        byte[] value = serde.encode(epoch == 0 ? r : r.withEpoch(epoch));
                        long size = key.length + value.length;
                        producer.send(new ProducerRecord<>(options.topic(), null, key, value,
                                ImageHeaders.of(options.split().id(), prepared.source())), (md, ex) -> {
                                    if (ex != null) firstError.compareAndSet(null, ex);
                                    else {
                                        acked.incrementAndGet();
                                        ackedBytes.addAndGet(size);
                                    }
                                });
                        sent++;
                        sentBytes += size;
                        progress.update(sent, mbPerSecond(sentBytes, progress));
                    }
                }
                producer.flush();
            } catch (KafkaException e) {
                firstError.compareAndSet(null, e);
                try {
                    producer.flush();
                } catch (KafkaException ignored) {
                    // the first failure is the one to report
                }
            } finally {
                progress.finish(sent, mbPerSecond(sentBytes, progress));
            }
            if (firstError.get() != null) throw kafkaFailure("writing to topic " + options.topic(), firstError.get());
            if (acked.get() != sent) {
                throw new IngestException("Kafka acknowledged " + acked.get() + " of " + sent + " records sent to topic "
                        + options.topic());
            }
        } catch (KafkaException e) {
            throw kafkaFailure("writing to topic " + options.topic(), e);
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        return new IngestResult(acked.get(), ackedBytes.get(), seconds, options.topic(), prepared.skipped());
    }

    private int timeoutMs() {
        return (int) Math.min(Integer.MAX_VALUE, options.timeout().toMillis());
    }

    /** A failure message that names the brokers, the topic and what to check. */
    private IngestException kafkaFailure(String action, Throwable t) {
        Throwable c = t;
        while ((c instanceof ExecutionException || c instanceof java.util.concurrent.CompletionException)
                && c.getCause() != null) {
            c = c.getCause();
        }
        String servers = options.bootstrapServers();
        if (c instanceof TopicAuthorizationException || c instanceof AuthorizationException) {
            return new IngestException("Not authorized while " + action + " on Kafka at " + servers + ": "
                    + c.getMessage() + " (the principal needs Describe/Write on the topic, Create to create it)", c);
        }
        if (c instanceof java.util.concurrent.TimeoutException
                || c instanceof org.apache.kafka.common.errors.TimeoutException) {
            return new IngestException("Cannot reach Kafka at " + servers + " within " + options.timeout().toSeconds()
                    + " s while " + action + " (is the broker running and the address right?): " + c.getMessage(), c);
        }
        return new IngestException("Kafka failed while " + action + " at " + servers + ": " + c, c);
    }

    /** The effective options. */
    public IngestOptions options() {
        return options;
    }
}
