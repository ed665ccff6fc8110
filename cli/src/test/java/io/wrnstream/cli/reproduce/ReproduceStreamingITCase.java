package io.wrnstream.cli.reproduce;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.wrnstream.cli.ImageFolders;
import io.wrnstream.model.io.ModelFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code reproduce --streaming}: an arm through the real job on the embedded broker and MiniCluster, then the report. */
class ReproduceStreamingITCase {
    @TempDir
    Path dir;

    @Test
    void streamingArmTrainsThroughTheJobAndIsReported() throws Exception {
        Path data = ImageFolders.dataset(dir.resolve("data"), 32, 8);
        Path file = Files.writeString(dir.resolve("stream.yaml"), """
                format: wrn-stream.experiment/1
                name: stream
                data: {path: %s}
                seed: 3
                recipe: {lr: 0.1, schedule: step, batch-size: 8, epochs: 200}
                arms:
                  - {name: small, model: wrn-10-1, dropout: 0.3, paper: 9.5}
                """.formatted(data.toString().replace("\\", "/")));
        Path out = dir.resolve("out");
        ReproduceCommandTest.Run r = ReproduceCommandTest.run("--experiment", file.toString(), "--streaming", "--epochs", "1", "--evaluations", "2",
                "--out", out.toString(), "--threads", "1");
        assertThat(r.code()).as(r.err()).isZero();
        List<JsonNode> lines = r.json();
        assertThat(lines).isNotEmpty().allSatisfy(n -> {
            assertThat(n.get("format").asText()).isEqualTo("wrn-stream.train-eval/2");
            assertThat(n.get("arm").asText()).isEqualTo("small");
            assertThat(n.get("protocol").asText()).startsWith("miniature (1 of 200 epochs");
            assertThat(n.get("test_images").asLong()).isEqualTo(16);
        });
        assertThat(lines.get(lines.size() - 1).get("images_seen").asLong()).isEqualTo(64);
        assertThat(lines.get(lines.size() - 1).get("train_loss").asDouble()).isPositive();
        assertThat(ModelFile.load(out.resolve("arms/small/model.wrn")).provenance().imagesSeen()).isEqualTo(64);
        assertThat(ReproduceCommandTest.svg(Files.readString(out.resolve("report.html"))).getElementsByTagName("polyline").getLength()).isEqualTo(2);
        assertThat(r.err()).contains(", streaming, output ", "reproduce: report written to");
    }
}
