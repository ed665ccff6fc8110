package io.wrnstream.jobs.update;

import io.wrnstream.model.engine.EngineState;
import io.wrnstream.model.io.ModelFile;
import java.nio.file.Path;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes the trained model at the end of a bounded run ({@link io.wrnstream.jobs.train.TrainerOperator#FINAL_MODEL})
 * to {@code model.output} as a {@link ModelFile} (versioned, with provenance; atomic rename, so a reader never sees
 * half a file). Run it with parallelism 1.
 */
public final class FinalModelSink implements Sink<ModelCandidate> {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(FinalModelSink.class);

    private final String path;

    /** A sink writing to {@code path} (a local or mounted file). */
    public FinalModelSink(String path) {
        this.path = path;
    }

    /**
     * Writes {@code model} to {@code out}, with the provenance of the configuration inside its snapshot (the one the
     * engine trained with, device precision included); returns the provenance written.
     */
    public static ModelFile.Provenance write(ModelCandidate model, Path out) {
        ModelFile.Provenance p = ModelFile.provenance(EngineState.fromBytes(model.engine()).config(), model.step(), model.imagesSeen(),
                model.engine());
        ModelFile.write(p, model.engine(), out);
        LOG.info("Final model (step {}, {} images) written to {}", model.step(), model.imagesSeen(), out.toAbsolutePath());
        return p;
    }

    @Override
    public SinkWriter<ModelCandidate> createWriter(WriterInitContext context) {
        Path out = Path.of(path);
        return new SinkWriter<>() {
            @Override
            public void write(ModelCandidate element, Context ctx) {
                FinalModelSink.write(element, out);
            }

            @Override
            public void flush(boolean endOfInput) {
                // each model is written when it arrives
            }

            @Override
            public void close() {
                // nothing held open
            }
        };
    }
}
