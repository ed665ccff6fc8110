package io.wrnstream.kafka.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.wrnstream.model.data.Split;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class IngestOptionsTest {

    private IngestOptions.Builder builder() {
        return IngestOptions.builder(Path.of("data"), Split.TRAIN, "topic", "localhost:9092");
    }

    @Test
    void defaultsAreDocumentedValues() {
        IngestOptions o = builder().build();
        assertThat(o.epochs()).isEqualTo(1);
        assertThat(o.seed()).isEqualTo(42);
        assertThat(o.partitions()).isEqualTo(2);
        assertThat(o.rate()).isZero();
        assertThat(o.limit()).isZero();
        assertThat(o.encoding()).isEqualTo(IngestEncoding.AUTO);
        assertThat(o.timeout()).isEqualTo(Duration.ofSeconds(15));
        assertThat(o.skipCorrupt()).isFalse();
    }

    @Test
    void rejectsInvalidValuesNamingSettingAndAllowedRange() {
        assertThatThrownBy(() -> builder().epochs(0).build()).hasMessage("Invalid value 0 for epochs: must be >= 1");
        assertThatThrownBy(() -> builder().partitions(0).build()).hasMessage("Invalid value 0 for partitions: must be >= 1");
        assertThatThrownBy(() -> builder().rate(-1).build())
                .hasMessage("Invalid value -1.0 for rate: must be > 0 images/s, or 0 for unlimited");
        assertThatThrownBy(() -> builder().limit(-5).build())
                .hasMessage("Invalid value -5 for limit: must be >= 1, or 0 for all");
        assertThatThrownBy(() -> builder().timeout(Duration.ZERO).build())
                .hasMessage("Invalid value 0 s for timeout: must be > 0");
        assertThatThrownBy(() -> IngestOptions.builder(Path.of("d"), Split.TEST, "bad topic", "h:1").build())
                .hasMessage("Invalid value 'bad topic' for topic: must be 1..249 characters of a-z, A-Z, 0-9, '.', '_' and '-'");
        assertThatThrownBy(() -> IngestOptions.builder(Path.of("d"), Split.TEST, "t", "localhost").build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Invalid value 'localhost' for bootstrap: must be HOST:PORT[,HOST:PORT...]");
        assertThatThrownBy(() -> IngestEncoding.parse("gif"))
                .hasMessage("Invalid value 'gif' for encoding: must be one of auto, raw, png, jpeg, source");
    }

    @Test
    void epochOrdersArePermutationsThatDifferByEpochAndRepeatBySeed() {
        int[] e0 = Ingest.epochOrder(1000, 42, 0);
        int[] e1 = Ingest.epochOrder(1000, 42, 1);
        assertThat(Arrays.stream(e0).sorted().toArray()).isEqualTo(java.util.stream.IntStream.range(0, 1000).toArray());
        assertThat(e0).isNotEqualTo(e1);
        assertThat(Ingest.epochOrder(1000, 42, 1)).isEqualTo(e1);
    }

    @Test
    void limitPicksTheSameSeededSubsetEveryTime() {
        Ingest ingest = new Ingest(builder().limit(100).build());
        int[] a = ingest.subset(10_000);
        assertThat(a).hasSize(100).isSorted().isEqualTo(ingest.subset(10_000));
        assertThat(a[a.length - 1]).isGreaterThan(5_000); // spread over the split, not its head
        assertThat(new Ingest(builder().limit(100).seed(1).build()).subset(10_000)).isNotEqualTo(a);
        assertThat(new Ingest(builder().build()).subset(5)).containsExactly(0, 1, 2, 3, 4);
    }
}
