package io.wrnstream.jobs.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.wrnstream.model.optim.Schedule;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JobConfigTest {

    @Test
    void defaultsFollowThePaperAndMapOntoTheEngineConfig() {
        JobConfig c = JobConfig.defaults();
        assertThat(c.get(JobConfig.BATCH_SIZE)).isEqualTo(128);
        assertThat(c.get(JobConfig.CHECKPOINT_INTERVAL)).isEqualTo(Duration.ofSeconds(60));
        assertThat(c.optim().milestones()).containsExactly(60, 120, 160);
        assertThat(c.optim().schedule()).isEqualTo(Schedule.STEP);
        assertThat(c.trainConfig().wrn().name()).isEqualTo("wrn-16-4");
        assertThat(c.trainConfig().seed()).isEqualTo(42L);
    }

    @Test
    void argumentsOverrideTheFile(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("job.yaml");
        Files.writeString(f, "# comment\nbatch-size: 64\nmodel: wrn-10-1\nkafka.security.protocol: SASL_SSL\noptim.schedule = cosine\n");
        JobConfig c = JobConfig.fromArgs("--config", f.toString(), "--batch-size", "16", "--seed=7");
        assertThat(c.get(JobConfig.BATCH_SIZE)).isEqualTo(16);
        assertThat(c.get(JobConfig.SEED)).isEqualTo(7L);
        assertThat(c.wrn().name()).isEqualTo("wrn-10-1");
        assertThat(c.optim().schedule()).isEqualTo(Schedule.COSINE);
        assertThat(c.kafkaProperties()).containsEntry("security.protocol", "SASL_SSL");
    }

    @Test
    void badValuesNameTheKeyAndWhatIsAllowed() {
        assertThatThrownBy(() -> JobConfig.fromArgs("--batch-size", "0"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Invalid value '0' for batch-size: must be an integer in [1, 65536]");
        assertThatThrownBy(() -> JobConfig.fromArgs("--state.backend", "memory"))
                .hasMessage("Invalid value 'memory' for state.backend: must be one of [rocksdb, hashmap]");
        assertThatThrownBy(() -> JobConfig.fromArgs("--checkpoint.interval", "soon"))
                .hasMessage("Invalid value 'soon' for checkpoint.interval: must be a duration > 0 such as 500ms, 60s, 10min or 2h");
        assertThatThrownBy(() -> JobConfig.fromArgs("--checkpoint.dir", "/tmp/x"))
                .hasMessage("Invalid value '/tmp/x' for checkpoint.dir: must be a URI with a scheme, e.g. file:///data/checkpoints or s3://bucket/path");
        assertThatThrownBy(() -> JobConfig.fromArgs("--optim.momentum", "1"))
                .hasMessage("Invalid value '1' for optim.momentum: must be a finite number in [0, 1)");
        assertThatThrownBy(() -> JobConfig.fromArgs("--optim.milestones", "60,30"))
                .hasMessage("Invalid value '60,30' for optim.milestones: must be a comma-separated, strictly increasing list of epochs > 0, e.g. 60,120,160");
        assertThatThrownBy(() -> JobConfig.fromArgs("--trainer.overlap", "yes"))
                .hasMessageContaining("trainer.overlap").hasMessageContaining("auto");
        assertThatThrownBy(() -> JobConfig.fromArgs("--trainer.overlap", "true", "--trainer.parallelism", "2"))
                .hasMessageContaining("trainer.overlap=true with trainer.parallelism=2");
        assertThatThrownBy(() -> JobConfig.fromArgs("--model", "wrn-12-1"))
                .hasMessageStartingWith("Invalid value 12 for wrn.depth: must be 6n+4");
        assertThatThrownBy(() -> JobConfig.fromArgs("--input.shape", "3x4x4"))
                .hasMessage("Invalid value '3x4x4' for input.shape: must be CxHxW with C >= 1 and H, W >= 8, e.g. 3x32x32 or 1x28x28");
        assertThatThrownBy(() -> JobConfig.fromArgs("--topic.train", "bad topic"))
                .hasMessage("Invalid value 'bad topic' for topic.train: must be 1-249 characters of [A-Za-z0-9._-]");
        assertThatThrownBy(() -> JobConfig.fromArgs("--source.bounded", "yes"))
                .hasMessage("Invalid value 'yes' for source.bounded: must be one of [true, false]");
        assertThatThrownBy(() -> JobConfig.fromArgs("--dropout", "1.0"))
                .hasMessage("Invalid value '1.0' for dropout: must be a finite number in [0, 1)");
    }

    @Test
    void engineAndPrecisionReachTheTrainConfigAndAreValidatedTogether() {
        // libtorch is the default engine (issue 8); DL4J is one option away.
        assertThat(JobConfig.defaults().trainConfig().engine()).isEqualTo("libtorch");
        assertThat(JobConfig.fromArgs("--engine", "dl4j").trainConfig().engine()).isEqualTo("dl4j");
        JobConfig torch = JobConfig.fromArgs("--engine", "libtorch", "--precision", "bf16");
        assertThat(torch.trainConfig().engine()).isEqualTo("libtorch");
        assertThat(torch.trainConfig().precision()).isEqualTo("bf16");
        assertThatThrownBy(() -> JobConfig.fromArgs("--engine", "torch"))
                .hasMessage("Invalid value 'torch' for engine: must be one of [dl4j, libtorch, worker]");
        assertThatThrownBy(() -> JobConfig.fromArgs("--engine", "dl4j", "--precision", "bf16"))
                .hasMessage("Invalid value 'bf16' for precision: must be one of [fp32] with engine dl4j");
    }

    @Test
    void unknownKeysAndMalformedArgumentsFail() {
        assertThatThrownBy(() -> JobConfig.fromArgs("--batchsize", "3"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("Unknown option 'batchsize': must be one of bootstrap-servers, group-id,");
        assertThatThrownBy(() -> JobConfig.fromArgs("--seed"))
                .hasMessage("Missing value for --seed: must be followed by a value");
        assertThatThrownBy(() -> JobConfig.fromArgs("seed", "3"))
                .hasMessage("Invalid argument 'seed': must be --key value or --key=value");
    }

    @Test
    void conflictingValuesFailWithIllegalState() {
        assertThatThrownBy(() -> JobConfig.of(Map.of("snapshot.steps", "0", "snapshot.interval", "0s")))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageStartingWith("snapshot.steps=0 and snapshot.interval=0s: at least one must be > 0");
        assertThatThrownBy(() -> JobConfig.of(Map.of("checkpoint.interval", "20min")))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageStartingWith("results.transaction-timeout=10min must be longer than checkpoint.interval=20min");
        assertThatThrownBy(() -> JobConfig.of(Map.of("optim.momentum", "0")))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("optim.nesterov=true needs optim.momentum > 0, got 0");
    }

    @Test
    void logLinesListEveryOptionOnceAndMaskSecrets() {
        JobConfig c = JobConfig.of(Map.of("kafka.sasl.jaas.config", "secret-stuff"));
        assertThat(c.logLines()).hasSize(JobConfig.OPTIONS.size() + 1)
                .contains("kafka.sasl.jaas.config = ******", "batch-size = 128");
    }

    @Test
    void helpAndMarkdownAreGeneratedFromTheDeclarations() {
        for (ConfigOption<?> o : JobConfig.OPTIONS) {
            assertThat(JobConfig.markdownTable()).contains("| `" + o.key() + "` |");
            assertThat(JobConfig.help()).contains("--" + o.key());
        }
    }

    @Test
    void survivesJavaSerialisationForShippingToOperators() throws Exception {
        JobConfig c = JobConfig.fromArgs("--model", "wrn-10-1", "--kafka.acks", "all");
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(c);
        }
        JobConfig back = (JobConfig) new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray())).readObject();
        assertThat(back.wrn()).isEqualTo(c.wrn());
        assertThat(back.kafkaProperties()).containsEntry("acks", "all");
    }
    @Test
    void prometheusPortIsOffAPortOrARange() {
        assertThat(JobConfig.fromArgs("--metrics.prometheus.port", "0").get(JobConfig.PROMETHEUS_PORT)).isEqualTo("0");
        assertThat(JobConfig.fromArgs("--metrics.prometheus.port", "9250").get(JobConfig.PROMETHEUS_PORT)).isEqualTo("9250");
        assertThat(JobConfig.defaults().get(JobConfig.PROMETHEUS_PORT)).isEqualTo("9249-9259");
        for (String bad : new String[] {"9260-9250", "70000", "0-10", "http", ""}) {
            assertThatThrownBy(() -> JobConfig.fromArgs("--metrics.prometheus.port", bad))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("Invalid value '" + bad + "' for metrics.prometheus.port: must be 0 (off), a port in [1, 65535] "
                            + "or a range low-high such as 9249-9259");
        }
    }

    @Test
    void optionsAreFlinkConfigOptionsWithTheSharedDefaults() {
        assertThat(JobConfig.BATCH_SIZE.defaultValue()).isEqualTo(io.wrnstream.model.Defaults.BATCH_SIZE);
        assertThat(JobConfig.ENGINE.defaultValue()).isEqualTo(io.wrnstream.model.engine.Engines.DEFAULT_ENGINE);
        assertThat(JobConfig.MODEL.defaultValue()).isEqualTo(io.wrnstream.model.Defaults.MODEL);
        assertThat(JobConfig.SEED.defaultValue()).isEqualTo(io.wrnstream.model.Defaults.SEED);
        assertThat(JobConfig.CHECKPOINT_INTERVAL.description().toString()).isNotEmpty();
        assertThat(JobConfig.defaultText(JobConfig.MILESTONES)).isEqualTo("60,120,160");
        assertThat(JobConfig.defaultText(JobConfig.TRANSACTION_TIMEOUT)).isEqualTo("10min");
        assertThat(JobConfig.defaultText(JobConfig.OPTIONS.get(0))).isEqualTo("localhost:9092");
    }

    @Test
    void durationsAndListsParseTheFlinkWay() {
        assertThat(JobConfig.fromArgs("--checkpoint.interval", "2 min").get(JobConfig.CHECKPOINT_INTERVAL)).isEqualTo(Duration.ofMinutes(2));
        assertThat(JobConfig.fromArgs("--max-time", "1d", "--results.transaction-timeout", "1h", "--checkpoint.interval", "90s")
                .get(JobConfig.MAX_TIME)).isEqualTo(Duration.ofDays(1));
        for (String list : new String[] {"30,40", "30;40", "[30, 40]"}) {
            assertThat(JobConfig.fromArgs("--optim.milestones", list).optim().milestones()).as(list).containsExactly(30, 40);
        }
        assertThat(JobConfig.fromArgs("--optim.schedule", "COSINE").optim().schedule()).isEqualTo(Schedule.COSINE);
        assertThatThrownBy(() -> JobConfig.fromArgs("--optim.schedule", "linear"))
                .hasMessage("Invalid value 'linear' for optim.schedule: must be one of [step, cosine, constant]");
    }

    @Test
    void readsItsOptionsFromTheFlinkConfigurationUnderItsPrefix() {
        Configuration flink = new Configuration();
        flink.setString("wrn-stream.batch-size", "64");
        flink.setString("wrn-stream.engine", "dl4j");
        flink.setString("wrn-stream.kafka.security.protocol", "SSL");
        flink.setString("parallelism.default", "4"); // Flink's own: not the job's
        JobConfig c = JobConfig.fromFlink(flink, "--batch-size", "32");
        assertThat(c.get(JobConfig.BATCH_SIZE)).as("arguments override the Flink configuration").isEqualTo(32);
        assertThat(c.get(JobConfig.ENGINE)).isEqualTo("dl4j");
        assertThat(c.kafkaProperties()).containsEntry("security.protocol", "SSL");
        flink.setString("wrn-stream.batchsize", "3");
        assertThatThrownBy(() -> JobConfig.fromFlink(flink)).hasMessageStartingWith("Unknown option 'batchsize'");
    }

    @Test
    void flinkOptionsMustBeKeysFlinkDeclaresWithNearMatchesSuggested() {
        assertThat(FlinkKeys.known()).as("Flink's options are enumerable on this class path").isPresent();
        assertThat(FlinkKeys.known().orElseThrow()).as("keys of CoreOptions, CheckpointingOptions, RestartStrategyOptions, RocksDB's")
                .contains("parallelism.default", "execution.checkpointing.interval", "restart-strategy.type",
                        "state.checkpoints.num-retained", "state.backend.rocksdb.memory.managed").hasSizeGreaterThan(500);
        assertThat(JobConfig.fromArgs("--flink.execution.checkpointing.num-retained", "3", "--flink.taskmanager.numberOfTaskSlots", "2")
                .flinkOptions()).containsOnlyKeys("execution.checkpointing.num-retained", "taskmanager.numberOfTaskSlots");
        assertThatThrownBy(() -> JobConfig.fromArgs("--flink.state.checkpoint.num-retained", "3"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("Unknown Flink configuration key 'state.checkpoint.num-retained' in option"
                        + " 'flink.state.checkpoint.num-retained': did you mean state.checkpoints.num-retained")
                .hasMessageContaining("flink.<key> takes a key Flink declares, or one under metrics.reporter., external-resource.");
        assertThatThrownBy(() -> JobConfig.fromArgs("--flink.no.such.key-at-all", "1"))
                .hasMessage("Unknown Flink configuration key 'no.such.key-at-all' in option 'flink.no.such.key-at-all' (flink.<key> takes a"
                        + " key Flink declares, or one under " + String.join(", ", FlinkKeys.UNCHECKED_PREFIXES) + ")");
        // Families Flink reads by pattern, or declares in modules this class path need not hold, pass as given.
        assertThat(JobConfig.fromArgs("--flink.metrics.reporter.prom.port", "9250", "--flink.external-resource.gpu.amount", "1",
                "--flink.s3.access-key", "k", "--flink.kubernetes.namespace", "ml").flinkOptions()).hasSize(4);
        assertThat(FlinkKeys.nearest("restart-strategy.typ", FlinkKeys.known().orElseThrow(), 3)).first().isEqualTo("restart-strategy.type");
        assertThat(FlinkKeys.distance("kitten", "sitting", 5)).isEqualTo(3);
        assertThat(FlinkKeys.distance("kitten", "sitting", 1)).isEqualTo(2); // stops early: above the bound
    }
}
