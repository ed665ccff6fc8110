package io.wrnstream.jobs.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.wrnstream.jobs.publish.BrokerLimits;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Everything the broker and this machine can tell before submission is checked before submission. */
class PreflightTest {
    private static final BrokerLimits BROKER = new BrokerLimits(BrokerLimits.DEFAULT_MAX_MESSAGE_BYTES,
            BrokerLimits.DEFAULT_TRANSACTION_MAX_TIMEOUT_MS, Map.of(), Set.of("wrn.train", "wrn.test"));

    @Test
    void defaultsPass() {
        assertThat(Preflight.problems(JobConfig.defaults(), BROKER, 24L << 30)).isEmpty();
    }

    @Test
    void hugeModelIsRefusedNamingTheSetting() {
        JobConfig c = JobConfig.fromArgs("--model", "wrn-9994-999");
        assertThatThrownBy(() -> Preflight.check(c, BROKER, 6L << 30))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("model=wrn-9994-999 with batch-size=128 needs at least ")
                .hasMessageContaining("but the trainer has 6.4 GB (engine dl4j): choose a smaller model or batch-size");
        assertThat(Preflight.memoryProblem(JobConfig.fromArgs("--model", "wrn-28-10"), 6L << 30)).isNull();
    }

    @Test
    void transactionTimeoutAboveTheBrokersMaximumIsRefused() {
        JobConfig c = JobConfig.fromArgs("--results.transaction-timeout", "20min");
        assertThat(Preflight.problems(c, BROKER, 0)).containsExactly("results.transaction-timeout=20min (1200000 ms) is above the"
                + " broker's transaction.max.timeout.ms=900000: set it at most that, or raise the broker's limit");
    }

    @Test
    void missingTopicsAndEvalDatasetAreRefused() {
        JobConfig c = JobConfig.fromArgs("--topic.train", "nope", "--eval.dataset", "/no/such/cifar10-jpeg");
        assertThat(Preflight.problems(c, BROKER, 0)).containsExactly(
                "topic.train=nope does not exist on bootstrap-servers=localhost:9092: create it (wrn-stream ingest does) or name an existing topic",
                "eval.dataset=/no/such/cifar10-jpeg does not exist: give a cifar10-jpeg folder or zip, or leave it empty to read the"
                        + " held-out set from topic.test");
        assertThat(Preflight.problems(JobConfig.fromArgs("--topic.test", "gone"), BROKER, 0)).containsExactly(
                "topic.test=gone does not exist and eval.dataset is empty: ingest the test split into topic.test or set eval.dataset");
    }

    @Test
    void inputShapeIsBoundedAbove() {
        assertThatThrownBy(() -> JobConfig.fromArgs("--input.shape", "3x99999x99999"))
                .hasMessage("Invalid value '3x99999x99999' for input.shape: must be CxHxW with C <= 255 and H, W <= 4096 (the largest"
                        + " images the decoder accepts), e.g. 3x32x32 or 1x28x28");
    }

    @Test
    void restartOptionsAreBounded() {
        assertThatThrownBy(() -> JobConfig.fromArgs("--restart.attempts", "-1"))
                .hasMessage("Invalid value '-1' for restart.attempts: must be an integer in [0, 1000]");
    }
}
