package io.wrnstream.jobs.train;

import io.wrnstream.model.engine.TrainingEngine;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/** Writes the trained model at the end of a bounded run, atomically (temp file, then rename). */
final class FinalModel {
    private FinalModel() {}

    static void write(TrainingEngine engine, Path out) throws IOException {
        Path tmp = out.resolveSibling(out.getFileName() + ".tmp");
        // TODO(h-model): switch to ModelFile.save once it lands; until then the engine's versioned snapshot bytes.
        Files.write(tmp, engine.snapshot());
        Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}
