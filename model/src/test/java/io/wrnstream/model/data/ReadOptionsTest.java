package io.wrnstream.model.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ReadOptionsTest {

    @Test
    void defaultsFailOnCorruptAndReadEverything() {
        ReadOptions o = ReadOptions.defaults();
        assertThat(o.skipCorrupt()).isFalse();
        assertThat(o.limit()).isEqualTo(ReadOptions.UNLIMITED);
        assertThat(o.withLimit(5).withSkipCorrupt(true).withExpectedShape(3, 32, 32))
                .isEqualTo(new ReadOptions(true, 5, 3, 32, 32));
    }

    @Test
    void rejectsNonPositiveLimit() {
        assertThatThrownBy(() -> ReadOptions.defaults().withLimit(0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Invalid value 0 for read.limit: must be >= 1 (or unlimited)");
    }

    @Test
    void rejectsNegativeExpectedShape() {
        assertThatThrownBy(() -> ReadOptions.defaults().withExpectedShape(-1, 32, 32))
                .hasMessage("Invalid value -1 for read.expected-channels: must be >= 1, or 0 for any");
        assertThatThrownBy(() -> ReadOptions.defaults().withExpectedShape(3, -2, 32))
                .hasMessage("Invalid value -2 for read.expected-height: must be >= 1, or 0 for any");
        assertThatThrownBy(() -> ReadOptions.defaults().withExpectedShape(3, 32, -3))
                .hasMessage("Invalid value -3 for read.expected-width: must be >= 1, or 0 for any");
    }
}
