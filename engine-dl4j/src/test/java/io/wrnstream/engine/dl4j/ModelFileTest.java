package io.wrnstream.engine.dl4j;

import io.wrnstream.model.io.ModelFile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.wrnstream.model.engine.Batch;
import io.wrnstream.model.engine.Engines;
import io.wrnstream.model.engine.TrainConfig;
import io.wrnstream.model.engine.TrainingEngine;
import io.wrnstream.model.optim.OptimConfig;
import io.wrnstream.model.optim.Schedule;
import io.wrnstream.model.wrn.WrnConfig;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelFileTest {
    @TempDir
    Path dir;

    private static final TrainConfig CONFIG = new TrainConfig(new WrnConfig(10, 1, 0, 3, 1, 8, 8),
            OptimConfig.paper().withSchedule(Schedule.CONSTANT), 4, 11L, "dl4j", "fp32", "synthetic 1x8x8");

    private static Batch batch(long seed) {
        Random r = new Random(seed);
        float[] x = new float[4 * 64];
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        return new Batch(x, new int[] {0, 1, 2, 1}, 1, 8, 8);
    }

    @Test
    void loadedModelContinuesTrainingExactlyAndKeepsProvenance() throws IOException {
        Path file = dir.resolve("m.wrnm");
        try (TrainingEngine e = Engines.create(CONFIG)) {
            e.trainStep(batch(1));
            ModelFile.Provenance saved = ModelFile.save(e, file);
            ModelFile.Loaded loaded = ModelFile.load(file);

            assertThat(loaded.provenance()).isEqualTo(saved);
            assertThat(saved.config()).isEqualTo(CONFIG);
            assertThat(saved.data()).isEqualTo("synthetic 1x8x8");
            assertThat(saved.seed()).isEqualTo(11L);
            assertThat(saved.steps()).isEqualTo(1);
            assertThat(saved.sha256()).hasSize(64);
            try (TrainingEngine again = loaded.engine()) {
                assertThat(again.trainStep(batch(2))).isEqualTo(e.trainStep(batch(2)));
                assertThat(again.snapshot()).isEqualTo(e.snapshot());
            }
        }
        try (var files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactly("m.wrnm");  // no temp file left
        }
    }

    @Test
    void corruptedSnapshotIsDetectedByItsChecksum() throws IOException {
        Path file = dir.resolve("m.wrnm");
        try (TrainingEngine e = Engines.create(CONFIG)) {
            ModelFile.save(e, file);
        }
        byte[] bytes = Files.readAllBytes(file);
        bytes[bytes.length - 1] ^= 1;
        Files.write(file, bytes);
        assertThatThrownBy(() -> ModelFile.load(file)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("Corrupt model file").hasMessageContaining("does not match");
    }

    @Test
    void unknownFormatVersionFailsNamingIt() throws IOException {
        Path file = dir.resolve("m.wrnm");
        try (TrainingEngine e = Engines.create(CONFIG)) {
            ModelFile.save(e, file);
        }
        byte[] bytes = Files.readAllBytes(file);
        ByteBuffer.wrap(bytes).putInt(4, 7);
        Files.write(file, bytes);
        assertThatThrownBy(() -> ModelFile.load(file)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Unsupported model file format version 7 in " + file + ": this build reads version 1");
    }
}
