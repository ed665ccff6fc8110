package io.wrnstream.jobs.train;

import io.wrnstream.model.engine.TrainingEngine;
import io.wrnstream.model.io.ModelFile;
import java.nio.file.Path;

/** Writes the trained model at the end of a bounded run as a {@link ModelFile} (versioned, with provenance; atomic). */
final class FinalModel {
    private FinalModel() {}

    static void write(TrainingEngine engine, Path out) {
        ModelFile.save(engine, out);
    }
}
