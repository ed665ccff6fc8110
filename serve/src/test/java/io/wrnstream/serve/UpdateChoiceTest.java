package io.wrnstream.serve;

import static org.assertj.core.api.Assertions.assertThat;

import io.wrnstream.kafka.update.ModelUpdate;
import org.junit.jupiter.api.Test;

class UpdateChoiceTest {

    private static ModelUpdate v(long version) {
        return new ModelUpdate("m", version, version, version, 0, null, null, "file:///m/v" + version, "00", 1, version, version);
    }

    @Test
    void neverGoesBackToALowerVersionByOffset() {
        UpdateChoice c = new UpdateChoice(false);
        c.offer(v(6));
        c.loaded(c.next(0));
        c.offer(v(1)); // a fresh job that restarted its versions, or a forged record
        assertThat(c.next(0)).isNull();
        c.offer(v(7));
        assertThat(c.next(0)).isEqualTo(v(7));
    }

    @Test
    void downgradeOnlyWhenTold() {
        UpdateChoice c = new UpdateChoice(true);
        c.offer(v(6));
        c.loaded(c.next(0));
        c.offer(v(2));
        assertThat(c.next(0)).isEqualTo(v(2));
    }

    @Test
    void newerUpdateDoesNotWaitOutTheBackOffOfAFailedOlderOne() {
        UpdateChoice c = new UpdateChoice(false);
        c.offer(v(3));
        for (int i = 0; i < 5; i++) c.failed(c.next(1_000_000L * i), 1_000_000L * i);
        long now = 4_000_001;
        assertThat(c.next(now)).as("v3 backs off for 16 s after five failures").isNull();
        c.offer(v(4));
        assertThat(c.next(now)).as("v4 is tried at once").isEqualTo(v(4));
        assertThat(c.failed(v(4), now)).as("its own back-off starts at the first step").isEqualTo(UpdateChoice.FIRST_BACKOFF_MS);
    }
}
