package io.wrnstream.model.augment;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class AugmentConfigTest {

    @Test
    void paperIsPadFourFlipAndCropToInputSize() {
        AugmentConfig c = AugmentConfig.paper();
        assertThat(c).isEqualTo(new AugmentConfig(4, true, 0, 0));
        assertThat(c.outputHeight(32)).isEqualTo(32);
        assertThat(c.outputWidth(28)).isEqualTo(28);
        assertThat(new AugmentConfig(2, false, 24, 20).outputWidth(32)).isEqualTo(20);
    }

    @Test
    void rejectsNegativeSettingsNamingThem() {
        assertThatThrownBy(() -> new AugmentConfig(-1, true, 0, 0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Invalid value -1 for augment.pad: must be >= 0 (the paper uses 4)");
        assertThatThrownBy(() -> new AugmentConfig(4, true, -2, 0))
                .hasMessage("Invalid value -2 for augment.crop-height: must be >= 1, or 0 for the input height");
        assertThatThrownBy(() -> new AugmentConfig(4, true, 0, -3))
                .hasMessage("Invalid value -3 for augment.crop-width: must be >= 1, or 0 for the input width");
    }
}
