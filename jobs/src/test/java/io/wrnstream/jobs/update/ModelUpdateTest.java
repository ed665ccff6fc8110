package io.wrnstream.jobs.update;

import io.wrnstream.kafka.update.ModelFiles;
import io.wrnstream.kafka.update.ModelUpdate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.wrnstream.jobs.config.JobConfig;
import io.wrnstream.model.io.ModelFile;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelUpdateTest {

    @TempDir
    Path dir;

    @Test
    void eventRoundTripsThroughJsonWithAndWithoutATestError() {
        ModelUpdate known = new ModelUpdate("wrn-10-1", 3, 120, 1920, 1.25, 0.4375, 100L, "file:/tmp/m/v3.wrnmodel", "ab12", 4096, 7, 1_700_000_000_000L);
        ModelUpdate unknown = new ModelUpdate("wrn-10-1", 1, 40, 640, 0.5, null, null, "s3://b/m/v1.wrnmodel", "cd34", 10, -1, 5);
        assertThat(ModelUpdate.fromJson(known.toJson())).isEqualTo(known);
        assertThat(ModelUpdate.fromJson(unknown.toJson())).isEqualTo(unknown);
        assertThat(unknown.toJson()).contains("\"test_error\":null").contains("\"checkpoint\":-1")
                .startsWith("{\"format\":\"wrn-stream.model-update/1\",");
    }

    @Test
    void unknownFormatAndMissingFieldsAreRejectedNamingThem() {
        String json = new ModelUpdate("m", 1, 1, 1, 0, null, null, "file:/x", "00", 1, 1, 1).toJson();
        String current = "\"format\":\"wrn-stream.model-update/1\"";
        assertThatThrownBy(() -> ModelUpdate.fromJson(json.replace(current, "\"format\":\"wrn-stream.model-update/9\"")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Unknown model-update event format \"wrn-stream.model-update/9\": this build reads \"wrn-stream.model-update/1\"");
        // The first builds wrote the same layout as "format":1: still read (a compacted topic keeps old events); others fail.
        assertThat(ModelUpdate.fromJson(json.replace(current, "\"format\":1"))).isEqualTo(ModelUpdate.fromJson(json));
        assertThatThrownBy(() -> ModelUpdate.fromJson(json.replace(current, "\"format\":9")))
                .hasMessage("Unknown model-update event format 9: this build reads \"wrn-stream.model-update/1\"");
        assertThatThrownBy(() -> ModelUpdate.fromJson(json.replace(current + ",", "")))
                .hasMessage("Invalid model-update event: field 'format' is missing (this build reads wrn-stream.model-update/1)");
        assertThatThrownBy(() -> ModelUpdate.fromJson(json.replace("\"sha256\"", "\"sha\"")))
                .hasMessage("Invalid model-update event: field 'sha256' is missing");
        assertThatThrownBy(() -> ModelUpdate.fromJson("not json")).hasMessageStartingWith("Invalid model-update event: not JSON");
    }

    @Test
    void storeWritesUniqueNamesAtomicallyAndReadVerifiesSizeAndDigest() throws Exception {
        ModelStore store = new ModelStore(dir.toUri().toString());
        byte[] bytes = "model bytes".getBytes(StandardCharsets.UTF_8);
        ModelStore.Written a = store.write("wrn-10-1", 1, 5, 40, bytes);
        ModelStore.Written b = store.write("wrn-10-1", 1, 5, 40, bytes);
        assertThat(a.location()).isNotEqualTo(b.location()).startsWith("file:").contains("/wrn-10-1/v000001-c5-s40-").endsWith(".wrnmodel");
        assertThat(a.sha256()).isEqualTo(ModelFile.sha256(bytes));
        assertThat(a.size()).isEqualTo(bytes.length);
        try (Stream<Path> files = Files.list(dir.resolve("wrn-10-1"))) {
            assertThat(files.map(p -> p.getFileName().toString())).hasSize(2).noneMatch(n -> n.contains("inprogress"));
        }
        assertThat(ModelFiles.read(a.location(), a.size(), a.sha256())).isEqualTo(bytes);
        assertThatThrownBy(() -> ModelFiles.read(a.location(), a.size(), "00"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("has SHA-256 " + a.sha256() + ", the update announced 00");
        assertThatThrownBy(() -> ModelFiles.read(a.location(), a.size() + 1, a.sha256()))
                .hasMessageContaining("does not have the announced size of " + (a.size() + 1) + " bytes");
        assertThatThrownBy(() -> ModelFiles.read(dir.resolve("missing").toUri().toString(), 1, "00")).isInstanceOf(UncheckedIOException.class);
        assertThat(store.write("m", 2, -1, 9, bytes).location()).contains("/m/v000002-cfinal-s9-");
    }

    @Test
    void forgedSizeAllocatesNothingAndIsRefused() {
        ModelStore.Written a = new ModelStore(dir.toUri().toString()).write("m", 1, 1, 1, new byte[100]);
        long before = usedHeap();
        assertThatThrownBy(() -> ModelFiles.read(a.location(), 2_000_000_000L, a.sha256()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Invalid size 2000000000 of model file " + a.location() + ": must be in [0, 1073741824] bytes");
        assertThatThrownBy(() -> ModelFiles.read(a.location(), 900_000_000L, a.sha256()))
                .hasMessage("Model file " + a.location() + " does not have the announced size of 900000000 bytes (it has 100); not read");
        assertThat(usedHeap() - before).as("bytes allocated").isLessThan(100L << 20);
    }

    private static long usedHeap() {
        Runtime rt = Runtime.getRuntime();
        return rt.totalMemory() - rt.freeMemory();
    }

    @Test
    void publisherStateRoundTripsAndRejectsAnUnknownFormat() throws Exception {
        ModelPublisherOperator op = new ModelPublisherOperator(JobConfig.defaults());
        byte[] fresh = op.serialize();
        ModelPublisherOperator other = new ModelPublisherOperator(JobConfig.defaults());
        other.restore(fresh);
        assertThat(other.serialize()).isEqualTo(fresh);
        fresh[3] = 7;
        assertThatThrownBy(() -> other.restore(fresh)).hasMessage("Unsupported model publisher state format 7: this build reads format 1");
    }

    @Test
    void modelOptionsAreValidatedNamingKeyValueAndAllowed() {
        assertThat(JobConfig.defaults().get(JobConfig.MODEL_PUBLISH)).isTrue();
        assertThat(JobConfig.defaults().get(JobConfig.MODEL_STORE)).isEqualTo("file:///tmp/wrn-stream/models");
        assertThat(JobConfig.defaults().get(JobConfig.TOPIC_MODEL_UPDATES)).isEqualTo("wrn.model-updates");
        assertThat(JobConfig.defaults().modelId()).isEqualTo("wrn-16-4");
        assertThat(JobConfig.of(Map.of("model.id", "cifar-prod")).modelId()).isEqualTo("cifar-prod");
        assertThatThrownBy(() -> JobConfig.of(Map.of("model.publish-every-checkpoints", "0")))
                .hasMessage("Invalid value '0' for model.publish-every-checkpoints: must be an integer >= 1");
        assertThatThrownBy(() -> JobConfig.of(Map.of("model.store", "/tmp/models")))
                .hasMessage("Invalid value '/tmp/models' for model.store: must be a URI with a scheme, e.g. file:///data/models or s3://bucket/path");
        assertThatThrownBy(() -> JobConfig.of(Map.of("model.publish", "yes")))
                .hasMessage("Invalid value 'yes' for model.publish: must be one of [true, false]");
        assertThatThrownBy(() -> JobConfig.of(Map.of("topic.model-updates", "a b")))
                .hasMessage("Invalid value 'a b' for topic.model-updates: must be 1-249 characters of [A-Za-z0-9._-]");
        assertThatThrownBy(() -> JobConfig.of(Map.of("model.id", "x/y")))
                .hasMessage("Invalid value 'x/y' for model.id: must be 1-249 characters of [A-Za-z0-9._-]");
    }
}
