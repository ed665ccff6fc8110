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
        JobConfig c = JobConfig.fromArgs("--model", "wrn-9994-999", "--engine", "dl4j"); // the engine the message names
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

    @Test
    void freshModelOnAGroupWithCommittedOffsetsIsRefusedUnlessToldOrRestored() {
        BrokerLimits trained = new BrokerLimits(BrokerLimits.DEFAULT_MAX_MESSAGE_BYTES, BrokerLimits.DEFAULT_TRANSACTION_MAX_TIMEOUT_MS,
                Map.of(), Set.of("wrn.train", "wrn.test"), 2);
        assertThat(Preflight.problems(JobConfig.defaults(), trained, 0)).containsExactly("group-id=wrn-trainer has committed offsets on 2"
                + " partition(s) of topic.train=wrn.train: an earlier job trained on them. Restore its model (--restore latest, or a checkpoint"
                + " or savepoint path), or start a new model from those offsets on purpose (--fresh true), or use another group-id");
        assertThat(Preflight.problems(JobConfig.fromArgs("--fresh", "true"), trained, 0)).isEmpty();
        assertThat(Preflight.problems(JobConfig.fromArgs("--restore", "latest"), trained, 0)).isEmpty();
        assertThat(Preflight.problems(JobConfig.fromArgs("--source.start", "earliest"), trained, 0)).isEmpty();
        assertThat(Preflight.problems(JobConfig.fromArgs("--restore", "/no/such/chk-3"), BROKER, 0)).containsExactly(
                "restore=/no/such/chk-3 does not exist: give a retained checkpoint (.../chk-N) or savepoint directory, or latest");
    }

    @Test
    void retainedCheckpointWithoutCommittedOffsetsIsRefusedUnlessToldOrRestored(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        // A job killed after its checkpoint completed but before its source committed the offsets (they go asynchronously).
        java.nio.file.Path chk = java.nio.file.Files.createDirectories(dir.resolve("0123abcd").resolve("chk-2"));
        java.nio.file.Files.writeString(chk.resolve("_metadata"), "m");
        JobConfig c = JobConfig.fromArgs("--checkpoint.dir", dir.toUri().toString());
        java.util.Optional<String> retained = Preflight.retainedCheckpoint(c);
        assertThat(retained).hasValueSatisfying(r -> assertThat(r).endsWith("0123abcd/chk-2"));
        assertThat(Preflight.problems(c, BROKER, 0, retained)).containsExactly("checkpoint.dir=" + dir.toUri() + " retains checkpoint "
                + retained.get() + " of an earlier job that did not finish (its offsets may not have reached group-id=wrn-trainer yet)."
                + " Restore its model (--restore latest, or that path), or start a new model on purpose (--fresh true), or use another"
                + " checkpoint.dir");
        assertThat(Preflight.retainedCheckpoint(c.with("fresh", "true"))).isEmpty();
        assertThat(Preflight.retainedCheckpoint(c.with("restore", "latest"))).isEmpty();
        assertThat(Preflight.retainedCheckpoint(c.with("source.start", "earliest"))).isEmpty();
        assertThat(Preflight.problems(c.with("fresh", "true"), BROKER, 0, retained)).isEmpty();
        BrokerLimits trained = new BrokerLimits(BrokerLimits.DEFAULT_MAX_MESSAGE_BYTES, BrokerLimits.DEFAULT_TRANSACTION_MAX_TIMEOUT_MS,
                Map.of(), Set.of("wrn.train", "wrn.test"), 2);
        assertThat(Preflight.problems(c, trained, 0, retained)).as("committed offsets say it already, once")
                .singleElement().asString().startsWith("group-id=wrn-trainer has committed offsets");
        assertThat(Preflight.retainedCheckpoint(JobConfig.fromArgs("--checkpoint.dir", dir.resolve("none").toUri().toString()))).isEmpty();
    }

    @Test
    void flinkOptionsPassThroughAndWinLast() {
        JobConfig c = JobConfig.fromArgs("--flink.state.checkpoints.num-retained", "3", "--flink.restart-strategy.type", "fixed-delay");
        org.apache.flink.configuration.Configuration f = io.wrnstream.jobs.TrainingJob.flinkConfiguration(c);
        assertThat(f.toMap()).containsEntry("state.checkpoints.num-retained", "3").containsEntry("restart-strategy.type", "fixed-delay");
        assertThat(c.with("batch-size", "8").flinkOptions()).containsEntry("state.checkpoints.num-retained", "3");
        assertThatThrownBy(() -> JobConfig.fromArgs("--flink.nodots", "1"))
                .hasMessage("Invalid option 'flink.nodots': must name a Flink configuration key, e.g. flink.state.checkpoints.num-retained");
        assertThatThrownBy(() -> io.wrnstream.jobs.TrainingJob.flinkConfiguration(JobConfig.fromArgs("--restore", "latest",
                "--checkpoint.dir", "file:///no/such/checkpoints")))
                .hasMessage("restore=latest but no checkpoint is retained under checkpoint.dir=file:///no/such/checkpoints: give a checkpoint or"
                        + " savepoint path, or start without restore");
    }
}
