package io.wrnstream.model.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class SplitTest {

    @Test
    void parsesNamesCaseInsensitively() {
        assertThat(Split.parse("train")).isEqualTo(Split.TRAIN);
        assertThat(Split.parse(" TEST ")).isEqualTo(Split.TEST);
        assertThat(Split.TEST.id()).isEqualTo("test");
    }

    @Test
    void rejectsUnknownSplitNamingAllowedValues() {
        assertThatThrownBy(() -> Split.parse("val"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Invalid value 'val' for split: must be one of train, test");
        assertThatThrownBy(() -> Split.parse(null)).hasMessage("Invalid value null for split: must be one of train, test");
    }
}
