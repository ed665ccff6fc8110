package io.wrnstream.cli.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.HighAvailabilityOptions;
import org.apache.flink.configuration.TaskManagerOptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The checker behind DeploymentFilesTest's Flink-setting test: it accepts Flink's keys and rejects near misses. */
class FlinkOptionKeysTest {
    private static FlinkOptionKeys keys;

    @BeforeAll
    static void collect() {
        keys = FlinkOptionKeys.fromClasspath();
    }

    @Test
    void knowsDeclaredKeysAndTheirDeprecatedFallbacks() {
        assertThat(keys.size()).as("options collected from Flink's classes").isGreaterThan(500);
        assertThat(keys.isKnown(CheckpointingOptions.CHECKPOINTS_DIRECTORY.key())).isTrue();
        assertThat(keys.isKnown(TaskManagerOptions.NUM_TASK_SLOTS.key())).isTrue();
        assertThat(keys.isKnown(HighAvailabilityOptions.HA_MODE.key())).isTrue();
        assertThat(keys.isKnown("state.checkpoints.dir")).as("Flink 1.x name, kept as a deprecated key").isTrue();
        assertThat(keys.isKnown("state.backend")).as("Flink 1.x name, kept as a deprecated key").isTrue();
        assertThat(keys.isKnown("state.backend.rocksdb.memory.managed")).as("from the RocksDB jar").isTrue();
    }

    @Test
    void matchesNamedReporterAndExternalResourceKeys() {
        assertThat(keys.isKnown("metrics.reporter.prom.factory.class")).isTrue();
        assertThat(keys.isKnown("metrics.reporter.prom.port")).isTrue();
        assertThat(keys.isKnown("metrics.reporter.jmx.interval")).isTrue();
        assertThat(keys.isKnown("external-resource.gpu.amount")).isTrue();
        assertThat(keys.isKnown("external-resource.gpu.driver-factory.class")).isTrue();
        assertThat(keys.isKnown("external-resource.gpu.kubernetes.config-key")).isTrue();
        assertThat(keys.isKnown("external-resource.gpu.param.discovery-script.path")).isTrue();
    }

    @Test
    void rejectsMisspelledAndInventedKeys() {
        assertThat(keys.isKnown("execution.checkpointing.dirs")).isFalse();
        assertThat(keys.isKnown("state.backend.typ")).isFalse();
        assertThat(keys.isKnown("metrics.reporter.prom.prot")).isFalse();
        assertThat(keys.isKnown("metrics.reporter.prom")).isFalse();
        assertThat(keys.isKnown("external-resource.gpu.amout")).isFalse();
        assertThat(keys.isKnown("external-resource.gpu.param")).isFalse();
        assertThat(keys.isKnown("taskmanager.numberOfTaskslots")).as("keys are case-sensitive").isFalse();
    }
}
