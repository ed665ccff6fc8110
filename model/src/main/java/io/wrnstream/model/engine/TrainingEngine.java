package io.wrnstream.model.engine;

import io.wrnstream.model.eval.EvalResult;
import java.util.Iterator;

/**
 * The one narrow seam between the streaming code and a numeric engine: train one minibatch, evaluate,
 * and snapshot/restore the complete training state as versioned bytes. Nothing of DL4J (or any other
 * engine) crosses it, so a Flink operator holds only this interface and byte arrays.
 *
 * <p>An engine is not thread-safe: one thread trains it. {@link #snapshot()} returns an independent copy,
 * so the caller may serialise or ship it while training goes on.
 *
 * <pre>{@code
 * try (TrainingEngine e = Engines.create(TrainConfig.paper(WrnConfig.cifar10(16, 4)))) {
 *     StepResult r = e.trainStep(batch);
 *     byte[] state = e.snapshot();          // model + optimiser + counters, versioned
 *     TrainingEngine again = Engines.restore(state);   // continues exactly where e stopped
 * }
 * }</pre>
 */
public interface TrainingEngine extends Predictor {

    /** The configuration this engine was built from (model, optimiser, seed, provenance). */
    TrainConfig config();

    /** Runs one SGD step on {@code batch}, with the learning rate the schedule gives for the images seen so far. */
    StepResult trainStep(Batch batch);

    /**
     * One SGD step on a batch of uint8 pixels, normalised by the engine. This default normalises on the CPU
     * ({@link PixelBatch#toBatch()}, bit-identical to the float path); an engine with a device may override it to
     * copy a quarter of the bytes there and normalise on it.
     */
    default StepResult trainStep(PixelBatch batch) {
        return trainStep(batch.toBatch());
    }

    /** Evaluates in inference mode (no dropout, BatchNorm running statistics) over all the batches. */
    EvalResult evaluate(Iterator<Batch> batches);

    /** Class probabilities for each image of the batch, in inference mode: {@code [n][classes]}. */
    @Override
    float[][] predict(Batch batch);

    @Override
    default io.wrnstream.model.wrn.WrnConfig model() {
        return config().wrn();
    }

    /** Steps taken so far. */
    long step();

    /** Training images consumed so far. */
    long imagesSeen();

    /**
     * The complete training state (config, parameters, optimiser state, step, images seen) as versioned bytes,
     * from which {@link Engines#restore(byte[])} builds an engine that continues exactly here.
     */
    byte[] snapshot();

    /** The GPU memory this engine computes on, when it computes on a GPU (for gauges); empty on the CPU. */
    /**
     * For benchmarks: milliseconds the last step spent where it ran, when that is not this JVM (the worker engine's
     * own step time; the rest of the wall time is transport). NaN for engines that step in process.
     */
    default double lastStepInsideMillis() {
        return Double.NaN;
    }

    /**
     * For benchmarks, after the timed steps: facts about where the engine ran ({@code device}, and
     * {@code peak_device_mb} on a GPU, resetting that peak). Empty for engines with nothing to add.
     */
    default java.util.Map<String, Object> runFacts() {
        return java.util.Map.of();
    }

    default java.util.Optional<DeviceMemory> deviceMemory() {
        return java.util.Optional.empty();
    }

    /** Number of trainable parameters. */
    long parameterCount();

    @Override
    void close();
}
