package io.wrnstream.model.wrn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class WrnConfigTest {
    @Test
    void depthMustBeSixNPlusFour() {
        assertThatThrownBy(() -> WrnConfig.cifar10(30, 1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Invalid value 30 for wrn.depth: must be 6n+4 with n >= 1 (10, 16, 22, 28, 34, 40, ...)");
        assertThatThrownBy(() -> WrnConfig.cifar10(4, 1)).hasMessageStartingWith("Invalid value 4 for wrn.depth");
        assertThat(WrnConfig.cifar10(28, 10).blocksPerGroup()).isEqualTo(4);
        assertThat(WrnConfig.cifar10(28, 10).widths()).containsExactly(16, 160, 320, 640);
    }

    @Test
    void otherSettingsAreValidatedWithTheirNames() {
        assertThatThrownBy(() -> WrnConfig.cifar10(16, 0)).hasMessage("Invalid value 0 for wrn.widen: must be an integer >= 1");
        assertThatThrownBy(() -> WrnConfig.cifar10(16, 1).withDropout(1.0))
                .hasMessage("Invalid value 1.0 for wrn.dropout: must be a drop probability in [0, 1)");
        assertThatThrownBy(() -> WrnConfig.cifar10(16, 1).withInput(3, 32, 32, 1)).hasMessage("Invalid value 1 for wrn.classes: must be >= 2");
        assertThatThrownBy(() -> WrnConfig.cifar10(16, 1).withInput(0, 32, 32, 10)).hasMessage("Invalid value 0 for wrn.channels: must be >= 1");
        assertThatThrownBy(() -> WrnConfig.cifar10(16, 1).withInput(3, 7, 32, 10))
                .hasMessage("Invalid value 7 for wrn.height: must be >= 8 (the network halves it twice)");
        assertThatThrownBy(() -> WrnConfig.cifar10(16, 1).withInput(3, 32, 7, 10))
                .hasMessage("Invalid value 7 for wrn.width: must be >= 8 (the network halves it twice)");
    }

    @Test
    void parsesModelSpecs() {
        assertThat(WrnConfig.parse("WRN-16-4")).isEqualTo(WrnConfig.cifar10(16, 4));
        assertThatThrownBy(() -> WrnConfig.parse("resnet-50")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Invalid value 'resnet-50' for model: must be wrn-D-K with D = 6n+4 and K >= 1, e.g. wrn-16-4, wrn-28-10");
    }
}
