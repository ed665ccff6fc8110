package io.wrnstream.jobs.eval;

import io.wrnstream.jobs.augment.AugmentFunction;
import io.wrnstream.jobs.config.JobConfig;
import io.wrnstream.kafka.format.ImageRecordSerde;
import io.wrnstream.kafka.format.RecordFormatException;
import io.wrnstream.model.augment.Augmenter;
import io.wrnstream.model.augment.AugmentConfig;
import io.wrnstream.model.augment.BatchAssembler;
import io.wrnstream.model.data.Dataset;
import io.wrnstream.model.data.Datasets;
import io.wrnstream.model.data.ReadOptions;
import io.wrnstream.model.data.Sample;
import io.wrnstream.model.data.Split;
import io.wrnstream.model.engine.Batch;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The held-out images, normalised once into evaluation minibatches: read from {@code eval.dataset} (test split) when
 * set, else collected once from {@code topic.test} (from the beginning to the end offsets at start-up).
 *
 * @param description where the images came from
 * @param batches normalised minibatches (no augmentation)
 * @param images number of images
 */
public record HeldOutSet(String description, List<Batch> batches, int images) {
    private static final Logger LOG = LoggerFactory.getLogger(HeldOutSet.class);

    /** Loads the held-out set {@code config} names, at most {@code eval.limit} images. */
    public static HeldOutSet load(JobConfig config) throws IOException {
        int[] shape = config.inputShape();
        int limit = config.get(JobConfig.EVAL_LIMIT);
        String path = config.get(JobConfig.EVAL_DATASET);
        List<Sample> samples;
        String description;
        if (!path.isEmpty()) {
            Dataset d = Datasets.open(Path.of(path), Split.TEST,
                    ReadOptions.defaults().withLimit(limit).withExpectedShape(shape[0], shape[1], shape[2]));
            samples = d.samples();
            description = d.description();
        } else {
            samples = fromTopic(config, limit);
            description = "topic " + config.get(JobConfig.TOPIC_TEST);
        }
        if (samples.isEmpty()) {
            throw new IllegalStateException("The held-out set (" + description + ") has no usable images: ingest the test split into "
                    + config.get(JobConfig.TOPIC_TEST) + " or set eval.dataset");
        }
        Augmenter eval = Augmenter.paper(shape[0]);
        List<Batch> batches = new ArrayList<>();
        BatchAssembler.evalBatches(samples, config.get(JobConfig.EVAL_BATCH_SIZE), eval).forEachRemaining(batches::add);
        LOG.info("Held-out set: {} images from {}", samples.size(), description);
        return new HeldOutSet(description, List.copyOf(batches), samples.size());
    }

    /** Reads {@code topic.test} from the beginning to its end offsets at call time; invalid records are skipped. */
    static List<Sample> fromTopic(JobConfig config, int limit) {
        int[] shape = config.inputShape();
        Properties p = config.kafkaProperties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, config.get(JobConfig.BOOTSTRAP_SERVERS));
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, String.valueOf(8 << 20));
        String topic = config.get(JobConfig.TOPIC_TEST);
        ImageRecordSerde serde = new ImageRecordSerde(config.get(JobConfig.CLASSES));
        List<Sample> out = new ArrayList<>();
        int skipped = 0;
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<PartitionInfo> infos = c.partitionsFor(topic, Duration.ofSeconds(30));
            if (infos == null || infos.isEmpty()) throw new IllegalStateException("Held-out topic " + topic + " does not exist");
            List<TopicPartition> parts = infos.stream().map(i -> new TopicPartition(topic, i.partition())).toList();
            c.assign(parts);
            c.seekToBeginning(parts);
            Map<TopicPartition, Long> end = new HashMap<>(c.endOffsets(parts));
            end.entrySet().removeIf(e -> c.position(e.getKey()) >= e.getValue());
            while (!end.isEmpty() && out.size() < limit) {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(500))) {
                    if (out.size() >= limit) break;
                    try {
                        Sample s = serde.decode(r.key(), r.value()).toSample();
                        if (s.channels() == shape[0] && s.height() == shape[1] && s.width() == shape[2]) out.add(s);
                        else skipped++;
                    } catch (RecordFormatException e) {
                        skipped++;
                    }
                }
                end.entrySet().removeIf(e -> c.position(e.getKey()) >= e.getValue());
            }
        }
        if (skipped > 0) LOG.warn("Skipped {} invalid records of held-out topic {}", skipped, topic);
        return out;
    }
}
