package io.wrnstream.kafka.ingest;

import io.wrnstream.model.data.Split;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * Validated settings of one {@link Ingest} run. Build with {@link #builder(Path, Split, String, String)}.
 *
 * @param data dataset file or folder (anything {@code Datasets.open} reads)
 * @param split which split to publish
 * @param topic target topic; created with {@code partitions} partitions when missing
 * @param bootstrapServers Kafka {@code host:port[,host:port...]}
 * @param epochs passes over the data, each in its own seeded shuffled order, {@code >= 1} (default 1)
 * @param seed seed of the shuffles and of the {@code limit} subset (default 42)
 * @param partitions partitions of a topic that has to be created, {@code >= 1} (default 2)
 * @param rate images per second, or 0 for as fast as Kafka takes them (default 0)
 * @param limit images per epoch, a seeded random subset fixed across epochs, or 0 for all (default 0)
 * @param encoding payload encoding (default {@link IngestEncoding#AUTO})
 * @param kafkaProperties extra producer and admin client properties, applied over the defaults
 * @param skipCorrupt skip undecodable or mis-sized images instead of failing (default false)
 * @param timeout bound on reaching Kafka and on each blocking Kafka call (default 15 s)
 */
public record IngestOptions(Path data, Split split, String topic, String bootstrapServers, int epochs, long seed,
                            int partitions, double rate, int limit, IngestEncoding encoding,
                            Map<String, String> kafkaProperties, boolean skipCorrupt, Duration timeout) {

    public IngestOptions {
        Objects.requireNonNull(data, "data");
        Objects.requireNonNull(split, "split");
        Objects.requireNonNull(encoding, "encoding");
        Objects.requireNonNull(timeout, "timeout");
        if (topic == null || topic.isBlank() || !topic.matches("[a-zA-Z0-9._-]{1,249}")) {
            throw new IllegalArgumentException("Invalid value '" + topic + "' for topic: must be 1..249 characters of"
                    + " a-z, A-Z, 0-9, '.', '_' and '-'");
        }
        if (bootstrapServers == null || !bootstrapServers.matches("[^,:\\s]+:\\d{1,5}(,[^,:\\s]+:\\d{1,5})*")) {
            throw new IllegalArgumentException("Invalid value '" + bootstrapServers + "' for bootstrap: must be"
                    + " HOST:PORT[,HOST:PORT...]");
        }
        if (epochs < 1) throw new IllegalArgumentException("Invalid value " + epochs + " for epochs: must be >= 1");
        if (partitions < 1) {
            throw new IllegalArgumentException("Invalid value " + partitions + " for partitions: must be >= 1");
        }
        if (!(rate >= 0) || Double.isInfinite(rate)) {
            throw new IllegalArgumentException("Invalid value " + rate + " for rate: must be > 0 images/s, or 0 for"
                    + " unlimited");
        }
        if (limit < 0) throw new IllegalArgumentException("Invalid value " + limit + " for limit: must be >= 1, or 0 for all");
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("Invalid value " + timeout.toSeconds() + " s for timeout: must be > 0");
        }
        kafkaProperties = Map.copyOf(new TreeMap<>(kafkaProperties == null ? Map.of() : kafkaProperties));
    }

    /** A builder with the required settings and every default. */
    public static Builder builder(Path data, Split split, String topic, String bootstrapServers) {
        return new Builder(data, split, topic, bootstrapServers);
    }

    /** Builder of {@link IngestOptions}; {@link #build()} validates. */
    public static final class Builder {
        private final Path data;
        private final Split split;
        private final String topic;
        private final String bootstrapServers;
        private int epochs = 1;
        private long seed = io.wrnstream.model.Defaults.SEED;
        private int partitions = 2;
        private double rate = 0;
        private int limit = 0;
        private IngestEncoding encoding = IngestEncoding.AUTO;
        private Map<String, String> kafkaProperties = Map.of();
        private boolean skipCorrupt = false;
        private Duration timeout = Duration.ofSeconds(15);

        private Builder(Path data, Split split, String topic, String bootstrapServers) {
            this.data = data;
            this.split = split;
            this.topic = topic;
            this.bootstrapServers = bootstrapServers;
        }

        public Builder epochs(int v) { epochs = v; return this; }
        public Builder seed(long v) { seed = v; return this; }
        public Builder partitions(int v) { partitions = v; return this; }
        public Builder rate(double v) { rate = v; return this; }
        public Builder limit(int v) { limit = v; return this; }
        public Builder encoding(IngestEncoding v) { encoding = v; return this; }
        public Builder kafkaProperties(Map<String, String> v) { kafkaProperties = v; return this; }
        public Builder skipCorrupt(boolean v) { skipCorrupt = v; return this; }
        public Builder timeout(Duration v) { timeout = v; return this; }

        public IngestOptions build() {
            return new IngestOptions(data, split, topic, bootstrapServers, epochs, seed, partitions, rate, limit,
                    encoding, kafkaProperties, skipCorrupt, timeout);
        }
    }
}
