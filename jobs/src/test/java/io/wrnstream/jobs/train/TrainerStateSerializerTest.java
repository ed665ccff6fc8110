package io.wrnstream.jobs.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.wrnstream.jobs.augment.AugmentedImage;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class TrainerStateSerializerTest {

    private static TrainerState sample() {
        return new TrainerState(7, new byte[] {1, 2, 3, 4, 5}, 12, 192, 3, 10, 123_456_789L, true,
                List.of(new AugmentedImage(5, 1, 3, new float[] {0.5f, -1.25f}), new AugmentedImage(9, 0, 0, new float[] {Float.NaN, 3f})));
    }

    @Test
    void roundTripKeepsEveryField() {
        TrainerState s = sample();
        TrainerState back = TrainerStateSerializer.deserialize(TrainerStateSerializer.serialize(s));
        assertThat(back.checkpointId()).isEqualTo(7);
        assertThat(back.engine()).containsExactly(1, 2, 3, 4, 5);
        assertThat(back.step()).isEqualTo(12);
        assertThat(back.imagesSeen()).isEqualTo(192);
        assertThat(back.snapshotVersion()).isEqualTo(3);
        assertThat(back.lastSnapshotStep()).isEqualTo(10);
        assertThat(back.trainingNanos()).isEqualTo(123_456_789L);
        assertThat(back.finished()).isTrue();
        assertThat(back.pending()).isEqualTo(s.pending());
    }

    @Test
    void startsWithMagicAndVersion() {
        byte[] b = TrainerStateSerializer.serialize(sample());
        assertThat(Arrays.copyOf(b, 5)).containsExactly('W', 'R', 'N', 'T', 1);
    }

    @Test
    void unknownVersionFailsNamingIt() {
        byte[] b = TrainerStateSerializer.serialize(sample());
        b[4] = 9;
        assertThatThrownBy(() -> TrainerStateSerializer.deserialize(b))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("Unknown trainer state version 9: this build reads version 1 only");
    }

    @Test
    void foreignAndTruncatedBytesFail() {
        assertThatThrownBy(() -> TrainerStateSerializer.deserialize(new byte[] {'X', 'R', 'N', 'T', 1}))
                .hasMessage("Not a trainer state: bad magic bytes (expected \"WRNT\")");
        byte[] b = TrainerStateSerializer.serialize(sample());
        assertThatThrownBy(() -> TrainerStateSerializer.deserialize(Arrays.copyOf(b, b.length - 3)))
                .hasMessageStartingWith("Corrupt trainer state: truncated");
    }

    @Test
    void modelSnapshotRoundTripAndUnknownVersion() {
        ModelSnapshot m = new ModelSnapshot(4, 40, 640, 0.0128, 1_700_000_000_000L, new byte[] {9, 8, 7});
        byte[] b = ModelSnapshotSerializer.serialize(m);
        assertThat(ModelSnapshotSerializer.deserialize(b)).isEqualTo(m);
        b[4] = 2;
        assertThatThrownBy(() -> ModelSnapshotSerializer.deserialize(b))
                .hasMessage("Unknown model snapshot version 2: this build reads version 1");
    }
}
