package io.wrnstream.model.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.wrnstream.model.wrn.WrnConfig;
import org.junit.jupiter.api.Test;

class TrainConfigTest {
    private static final TrainConfig PAPER = TrainConfig.paper(WrnConfig.cifar10(16, 4));

    @Test
    void invalidSettingsAreRejectedWithTheirNames() {
        assertThatThrownBy(() -> PAPER.withBatchSize(0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Invalid value 0 for train.batch-size: must be >= 1 (paper: 128)");
        assertThatThrownBy(() -> new TrainConfig(PAPER.wrn(), PAPER.optim(), 128, 1, "torch", "fp32", ""))
                .hasMessage("Invalid value 'torch' for engine: must be one of [dl4j, libtorch, worker]");
        assertThatThrownBy(() -> new TrainConfig(PAPER.wrn(), PAPER.optim(), 128, 1, "dl4j", "bf16", ""))
                .hasMessage("Invalid value 'bf16' for precision: must be one of [fp32] with engine dl4j");
        assertThatThrownBy(() -> new TrainConfig(PAPER.wrn(), PAPER.optim(), 128, 1, "libtorch", "fp16", ""))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Invalid value 'fp16' for precision: must be one of [fp32, bf16] with engine libtorch");
    }

    @Test
    void libtorchTrainsInFp32AndBf16AndIsTheDefaultEngineWithPrecisionAuto() {
        assertThat(PAPER.withEngine("libtorch", "bf16").precision()).isEqualTo("bf16");
        assertThat(PAPER.withEngine("libtorch", "fp32").engine()).isEqualTo("libtorch");
        TrainConfig defaults = new TrainConfig(PAPER.wrn(), PAPER.optim(), 128, 1, null, null, null);
        assertThat(defaults.engine()).isEqualTo("libtorch").isEqualTo(Engines.DEFAULT_ENGINE);
        assertThat(defaults.precision()).isEqualTo(TrainConfig.defaultPrecision("libtorch")).isIn("fp32", "bf16");
        assertThat(TrainConfig.defaultPrecision("libtorch", true)).as("bf16 on a GPU").isEqualTo("bf16");
        assertThat(TrainConfig.defaultPrecision("dl4j", true)).as("DL4J trains in fp32 only").isEqualTo("fp32");
    }

    @Test
    void jsonRoundTripOfTheSnapshotFormatKeepsEveryField() throws Exception {
        TrainConfig c = PAPER.withData("cifar10 train").withSeed(99);
        byte[] json = EngineState.configJson(c);
        assertThat(new com.fasterxml.jackson.databind.ObjectMapper().readValue(json, TrainConfig.class)).isEqualTo(c);
    }

    @Test
    void autoPrecisionResolvesToTheEnginesDefaultForThisMachine() throws Exception {
        WrnConfig w = WrnConfig.cifar10(10, 1);
        TrainConfig dl4j = TrainConfig.paper(w).withEngine("dl4j", TrainConfig.AUTO);
        assertThat(dl4j.precision()).isEqualTo("fp32");
        String flags = java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/cpuinfo")).stream()
                .filter(l -> l.startsWith("flags")).findFirst().orElse("");
        boolean fastBf16 = flags.contains(" avx512_bf16") || flags.contains(" amx_bf16");
        TrainConfig torch = TrainConfig.paper(w).withEngine("libtorch", null);
        assertThat(torch.precision()).isEqualTo(fastBf16 ? "bf16" : "fp32");
        assertThat(TrainConfig.paper(w).withEngine("libtorch", "fp32").precision()).as("an explicit choice stays").isEqualTo("fp32");
    }
}
