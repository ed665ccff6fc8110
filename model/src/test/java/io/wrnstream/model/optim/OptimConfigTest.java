package io.wrnstream.model.optim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class OptimConfigTest {
    private static OptimConfig with(double lr, double momentum, boolean nesterov, double wd, Schedule s, double[] m, double gamma, double epochs, long size) {
        return new OptimConfig(lr, momentum, nesterov, wd, true, s, m, gamma, epochs, size);
    }

    @Test
    void stepScheduleMultipliesByPointTwoAtEpochs60_120_160() {
        OptimConfig p = OptimConfig.paper();
        assertThat(p.learningRateAt(0)).isEqualTo(0.1);
        assertThat(p.learningRateAt(60L * 50_000 - 1)).isEqualTo(0.1);
        assertThat(p.learningRateAt(60L * 50_000)).isCloseTo(0.02, within(1e-12));
        assertThat(p.learningRateAt(120L * 50_000)).isCloseTo(0.004, within(1e-12));
        assertThat(p.learningRateAt(160L * 50_000)).isCloseTo(0.0008, within(1e-12));
        assertThat(p.learningRateAt(199L * 50_000)).isCloseTo(0.0008, within(1e-12));
    }

    @Test
    void cosineScheduleFallsFromLrToZeroOverTheEpochsAndRestarts() {
        OptimConfig c = OptimConfig.paper().withSchedule(Schedule.COSINE).withEpochs(10, 100);
        assertThat(c.learningRateAt(0)).isCloseTo(0.1, within(1e-12));
        assertThat(c.learningRateAt(500)).isCloseTo(0.05, within(1e-12));
        assertThat(c.learningRateAt(999)).isCloseTo(0.0, within(1e-5));
        assertThat(c.learningRateAt(1000)).isCloseTo(0.1, within(1e-12));
    }

    @Test
    void constantScheduleNeverChanges() {
        OptimConfig c = OptimConfig.paper().withSchedule(Schedule.CONSTANT);
        assertThat(c.learningRateAt(0)).isEqualTo(0.1);
        assertThat(c.learningRateAt(Long.MAX_VALUE / 2)).isEqualTo(0.1);
    }

    @Test
    void paperDefaults() {
        OptimConfig p = OptimConfig.paper();
        assertThat(p.momentum()).isEqualTo(0.9);
        assertThat(p.nesterov()).isTrue();
        assertThat(p.weightDecay()).isEqualTo(5e-4);
        assertThat(p.decayBatchNorm()).isTrue();
        assertThat(p.milestones()).containsExactly(60, 120, 160);
        assertThat(p.epochs()).isEqualTo(200);
    }

    @Test
    void invalidValuesAreRejectedNamingTheSettingAndWhatIsAllowed() {
        double[] m = {60};
        assertThatThrownBy(() -> with(0, 0.9, true, 0, Schedule.STEP, m, 0.2, 1, 1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Invalid value 0.0 for optim.lr: must be a finite number > 0");
        assertThatThrownBy(() -> with(0.1, 1, true, 0, Schedule.STEP, m, 0.2, 1, 1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Invalid value 1.0 for optim.momentum: must be in [0, 1)");
        assertThatThrownBy(() -> with(0.1, 0.9, true, -1, Schedule.STEP, m, 0.2, 1, 1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Invalid value -1.0 for optim.weight-decay: must be a finite number >= 0");
        assertThatThrownBy(() -> with(0.1, 0.9, true, 0, null, m, 0.2, 1, 1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Invalid value null for optim.schedule: must be one of [STEP, COSINE, CONSTANT]");
        assertThatThrownBy(() -> with(0.1, 0.9, true, 0, Schedule.STEP, new double[] {60, 60}, 0.2, 1, 1))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Invalid value [60.0, 60.0] for optim.milestones: must be strictly increasing epochs > 0");
        assertThatThrownBy(() -> with(0.1, 0.9, true, 0, Schedule.STEP, m, 0, 1, 1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Invalid value 0.0 for optim.gamma: must be in (0, 1]");
        assertThatThrownBy(() -> with(0.1, 0.9, true, 0, Schedule.STEP, m, 0.2, 0, 1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Invalid value 0.0 for optim.epochs: must be a finite number > 0");
        assertThatThrownBy(() -> with(0.1, 0.9, true, 0, Schedule.STEP, m, 0.2, 1, 0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Invalid value 0 for optim.epoch-size: must be >= 1 image");
        assertThatThrownBy(() -> with(0.1, 0, true, 0, Schedule.STEP, m, 0.2, 1, 1)).isInstanceOf(IllegalStateException.class)
                .hasMessage("optim.nesterov=true needs optim.momentum > 0, got 0");
    }
}
