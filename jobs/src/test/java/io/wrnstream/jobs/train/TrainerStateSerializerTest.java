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
                List.of(new AugmentedImage(5, 1, 3, new byte[] {0, 127, (byte) 255}), new AugmentedImage(9, 0, 0, new byte[] {-1, 3, 7})));
    }

    @Test
    void roundTripKeepsEveryField() {
        TrainerState s = sample();
        TrainerState back = TrainerStateSerializer.deserialize(TrainerStateSerializer.serialize(s), 3);
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
    void pendingImagesTakeOneBytePerPixel() {
        byte[] one = TrainerStateSerializer.serialize(new TrainerState(1, new byte[0], 0, 0, 0, 0, 0, false,
                List.of(new AugmentedImage(1, 0, 0, new byte[3 * 32 * 32]))));
        byte[] none = TrainerStateSerializer.serialize(new TrainerState(1, new byte[0], 0, 0, 0, 0, 0, false, List.of()));
        assertThat(one.length - none.length).isEqualTo(8 + 4 + 4 + 4 + 3 * 32 * 32);
    }

    /** A version-1 state (pending images as normalised floats) as the earlier builds wrote it. */
    private static byte[] versionOne(float[] x) throws java.io.IOException {
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        try (java.io.DataOutputStream out = new java.io.DataOutputStream(bytes)) {
            out.write(TrainerStateSerializer.MAGIC);
            out.writeByte(1);
            for (long v : new long[] {7, 12, 192, 3, 10, 99}) out.writeLong(v);
            out.writeBoolean(false);
            out.writeInt(2);
            out.write(new byte[] {4, 2});
            out.writeInt(1);
            out.writeLong(5);
            out.writeInt(1);
            out.writeInt(3);
            out.writeInt(x.length);
            for (float f : x) out.writeFloat(f);
        }
        return bytes.toByteArray();
    }

    @Test
    void versionOneFloatsReadBackAsTheBytesTheyWereNormalisedFrom() throws Exception {
        io.wrnstream.model.augment.Normalization n = io.wrnstream.model.augment.Normalization.CIFAR10;
        // One pixel per channel (a 1x1 image of 3 channels): 0, 128 and 255.
        TrainerState s = TrainerStateSerializer.deserialize(versionOne(new float[] {n.apply(0, 0), n.apply(1, 128), n.apply(2, 255)}), 3);
        assertThat(s.step()).isEqualTo(12);
        assertThat(s.engine()).containsExactly(4, 2);
        assertThat(s.pending()).containsExactly(new AugmentedImage(5, 1, 3, new byte[] {0, (byte) 128, (byte) 255}));
        assertThatThrownBy(() -> TrainerStateSerializer.deserialize(versionOne(new float[] {0.123f, 0f, 0f}), 3))
                .hasMessageContaining("does not produce from any byte");
    }

    @Test
    void startsWithMagicAndVersion() {
        byte[] b = TrainerStateSerializer.serialize(sample());
        assertThat(Arrays.copyOf(b, 5)).containsExactly('W', 'R', 'N', 'T', 2);
    }

    @Test
    void unknownVersionFailsNamingIt() {
        byte[] b = TrainerStateSerializer.serialize(sample());
        b[4] = 9;
        assertThatThrownBy(() -> TrainerStateSerializer.deserialize(b, 3))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("Unknown trainer state version 9: this build reads versions 1 and 2");
    }

    @Test
    void foreignAndTruncatedBytesFail() {
        assertThatThrownBy(() -> TrainerStateSerializer.deserialize(new byte[] {'X', 'R', 'N', 'T', 1}, 3))
                .hasMessage("Not a trainer state: bad magic bytes (expected \"WRNT\")");
        byte[] b = TrainerStateSerializer.serialize(sample());
        assertThatThrownBy(() -> TrainerStateSerializer.deserialize(Arrays.copyOf(b, b.length - 3), 3))
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
