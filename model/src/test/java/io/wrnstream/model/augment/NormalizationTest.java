package io.wrnstream.model.augment;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.wrnstream.model.data.Dataset;
import io.wrnstream.model.data.Datasets;
import io.wrnstream.model.data.ReadOptions;
import io.wrnstream.model.data.Sample;
import io.wrnstream.model.data.Split;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class NormalizationTest {

    @Test
    void cifar10ConstantsAreTheReferenceValues() {
        assertThat(Normalization.CIFAR10.mean()).containsExactly(0.4914f, 0.4822f, 0.4465f);
        assertThat(Normalization.CIFAR10.std()).containsExactly(0.2470f, 0.2435f, 0.2616f);
        assertThat(Normalization.CIFAR10.apply(0, 255)).isEqualTo((1f - 0.4914f) / 0.2470f);
    }

    @Test
    void computesExactPopulationStatisticsPerChannel() {
        // Channel 0 holds 0 and 255 (mean 0.5, std 0.5), channel 1 holds 51 and 153 (mean 0.4, std 0.2).
        Sample a = new Sample(0, 0, 2, 1, 1, new byte[] {0, 51});
        Sample b = new Sample(1, 0, 2, 1, 1, new byte[] {(byte) 255, (byte) 153});

        Normalization n = Normalization.compute(List.of(a, b));

        assertThat(n.mean()).containsExactly(0.5f, 0.4f);
        assertThat(n.std()).containsExactly(0.5f, 0.2f);
    }

    @Test
    void isImmutable() {
        float[] mean = {0.5f};
        Normalization n = new Normalization(mean, new float[] {0.25f});
        mean[0] = 9f;
        n.mean()[0] = 7f;
        assertThat(n.mean()).containsExactly(0.5f);
        assertThat(n).isEqualTo(new Normalization(new float[] {0.5f}, new float[] {0.25f}));
    }

    @Test
    void rejectsInvalidStatisticsNamingTheValue() {
        assertThatThrownBy(() -> new Normalization(null, new float[] {1f}))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Invalid normalization: both mean and std are required");
        assertThatThrownBy(() -> new Normalization(new float[0], new float[0]))
                .hasMessage("Invalid normalization: needs at least one channel, got 0");
        assertThatThrownBy(() -> new Normalization(new float[] {0.5f, 0.5f, 0.5f}, new float[] {0.2f, 0.2f}))
                .hasMessage("Invalid normalization: mean has 3 channels but std has 2; they must be equal");
        assertThatThrownBy(() -> new Normalization(new float[] {Float.NaN}, new float[] {0.2f}))
                .hasMessage("Invalid value NaN for normalization.mean[0]: must be finite (0..1 scale)");
        assertThatThrownBy(() -> new Normalization(new float[] {0.5f, 0.5f}, new float[] {0.2f, 0f}))
                .hasMessage("Invalid value 0.0 for normalization.std[1]: must be finite and > 0 (0..1 scale)");
    }

    @Test
    void computeRejectsEmptyMixedAndConstantInputs() {
        assertThatThrownBy(() -> Normalization.compute(List.of()))
                .hasMessage("Cannot compute a normalization from no samples: the training set is empty");
        assertThatThrownBy(() -> Normalization.compute(List.of(new Sample(0, 0, 1, 1, 1, new byte[1]),
                new Sample(1, 0, 2, 1, 1, new byte[2]))))
                .hasMessage("Cannot compute a normalization: sample 1 has 2 channels, sample 0 has 1; all must match");
        assertThatThrownBy(() -> Normalization.compute(List.of(new Sample(0, 0, 1, 1, 2, new byte[] {7, 7}))))
                .hasMessage("Cannot compute a normalization: channel 0 is constant (std 0) over the 1 samples");
    }

    @Test
    void fashionMnistConstantMatchesItsTrainingSet() throws IOException {
        Path dir = Path.of(System.getProperty("wrn.fashion-mnist", "/usr/share/datasets/fashion-mnist"));
        assumeTrue(Files.isDirectory(dir), "Fashion-MNIST not at " + dir
                + " (apt-get install dataset-fashion-mnist, or -Dwrn.fashion-mnist=DIR); skipping");

        Dataset train = Datasets.open(dir, Split.TRAIN, ReadOptions.defaults());
        Normalization n = Normalization.compute(train.samples());

        assertThat(train.size()).isEqualTo(60_000);
        assertThat(n.mean()[0]).isCloseTo(Normalization.FASHION_MNIST.mean()[0], within(1e-4f));
        assertThat(n.std()[0]).isCloseTo(Normalization.FASHION_MNIST.std()[0], within(1e-4f));
    }
}
