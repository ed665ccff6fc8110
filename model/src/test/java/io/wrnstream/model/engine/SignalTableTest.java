package io.wrnstream.model.engine;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The exchange's gather table, summed over ranks as an all-reduce would, without a group. */
class SignalTableTest {

    @Test
    void theSumOfEveryRanksTableGathersEachRanksCountAndSignals() {
        int ranks = 3;
        int[] images = {5, 0, 7};
        long[][] signals = {{10, -1}, {20, -2}, {30, -3}};
        long[] summed = new long[(1 + 2) * ranks];
        for (int r = 0; r < ranks; r++) {
            long[] t = AbstractEngine.signalTable(images[r], signals[r], ranks, r);
            for (int i = 0; i < t.length; i++) summed[i] += t[i];
        }
        AbstractEngine.Gather g = AbstractEngine.gather(summed, ranks, 2);
        assertThat(g.images()).isEqualTo(12);
        assertThat(g.imagesByRank()).containsExactly(5, 0, 7);
        assertThat(g.signals()).isDeepEqualTo(signals);
        AbstractEngine.Exchanged x = g.exchanged(3.5, 4, false);
        assertThat(x.images()).isEqualTo(12);
        assertThat(x.lossSum()).isEqualTo(3.5);
        assertThat(x.finite()).isFalse();
    }

    @Test
    void aStepWithoutImagesSumsNothingAndIsFinite() {
        long[] summed = AbstractEngine.signalTable(0, new long[] {4}, 2, 1);
        AbstractEngine.Exchanged x = AbstractEngine.gather(summed, 2, 1).nothing();
        assertThat(x.images()).isZero();
        assertThat(x.lossSum()).isZero();
        assertThat(x.finite()).isTrue();
        assertThat(x.signals()).isDeepEqualTo(new long[][] {{0}, {4}});
    }
}
