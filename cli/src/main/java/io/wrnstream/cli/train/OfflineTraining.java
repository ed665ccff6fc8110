package io.wrnstream.cli.train;

import io.wrnstream.model.augment.AugmentConfig;
import io.wrnstream.model.augment.Augmenter;
import io.wrnstream.model.augment.BatchAssembler;
import io.wrnstream.model.augment.Normalization;
import io.wrnstream.model.data.Dataset;
import io.wrnstream.model.data.Datasets;
import io.wrnstream.model.data.ReadOptions;
import io.wrnstream.model.data.Sample;
import io.wrnstream.model.data.Split;
import io.wrnstream.model.engine.Batch;
import io.wrnstream.model.engine.StepResult;
import io.wrnstream.model.engine.TrainingEngine;
import io.wrnstream.model.eval.EvalResult;
import io.wrnstream.model.optim.OptimConfig;
import io.wrnstream.model.optim.Schedule;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * The offline training loop that {@code train} and {@code reproduce} share: the training set replayed as a stream, one
 * fresh seeded shuffle per epoch (image p of the stream is entry p % N of the shuffle of epoch p / N, so a resumed run
 * continues the same order), the paper's augmentation, an evaluation every {@code evalInterval} images and one at the end.
 *
 * <pre>{@code
 * OfflineTraining.Data data = OfflineTraining.Data.open(path, 0, 0, System.err);
 * OfflineTraining.run(engine, data, 128, engine.imagesSeen() + 50_000, 50_000, listener);
 * }</pre>
 */
public final class OfflineTraining {
    /** Evaluation minibatch size (inference only, so larger than training's). */
    static final int EVAL_BATCH = 256;

    private OfflineTraining() {}

    /**
     * The train and test splits of one dataset, with the paper's augmentation for it.
     *
     * @param train training split
     * @param test test split
     * @param augmenter the paper's crops and flips, normalised (CIFAR-10 mean/std for colour images, else computed)
     */
    public record Data(Dataset train, Dataset test, Augmenter augmenter) {
        /**
         * Reads both splits of {@code path}.
         *
         * @param limit first N training images only (0: all)
         * @param evalLimit first N test images only (0: all)
         * @param log where to say what was read
         */
        public static Data open(Path path, int limit, int evalLimit, PrintStream log) throws IOException {
            ReadOptions trainOpts = limit > 0 ? ReadOptions.defaults().withLimit(limit) : ReadOptions.defaults();
            ReadOptions testOpts = evalLimit > 0 ? ReadOptions.defaults().withLimit(evalLimit) : ReadOptions.defaults();
            log.println("Reading " + path + " ...");
            Dataset train = Datasets.open(path, Split.TRAIN, trainOpts);
            Dataset test = Datasets.open(path, Split.TEST, testOpts);
            log.printf(Locale.ROOT, "train: %s (%d images), test: %d images, %d classes, %dx%dx%d%n", train.description(),
                    train.samples().size(), test.samples().size(), train.classNames().size(), train.channels(), train.height(), train.width());
            Normalization norm = train.channels() == 3 ? Normalization.CIFAR10 : Normalization.compute(train.samples());
            return new Data(train, test, new Augmenter(AugmentConfig.paper(), norm));
        }

        /** Images per epoch. */
        public long epochSize() {
            return train.samples().size();
        }
    }

    /** What the loop reports while it runs. */
    public interface Listener {
        /** After every step; {@code smoothedLoss} is an exponential average of the step losses. */
        default void stepped(TrainingEngine engine, StepResult result, double smoothedLoss) {}

        /** After every evaluation (the record has no experiment fields). */
        void evaluated(TrainingEngine engine, EvalRecord record) throws IOException;
    }

    /**
     * The paper's optimiser (lr, Nesterov momentum 0.9, weight decay 5e-4, lr x0.2) with its schedule scaled to a run of
     * {@code scheduleEpochs}: step milestones at 30/60/80% of it, as 60/120/160 are of the paper's 200.
     */
    public static OptimConfig paperOptim(double lr, Schedule schedule, double scheduleEpochs, long epochSize) {
        double[] milestones = {0.3 * scheduleEpochs, 0.6 * scheduleEpochs, 0.8 * scheduleEpochs};
        return new OptimConfig(lr, OptimConfig.PAPER_MOMENTUM, true, OptimConfig.PAPER_WEIGHT_DECAY, true, schedule, milestones,
                OptimConfig.PAPER_GAMMA, scheduleEpochs, epochSize);
    }

    /**
     * Trains {@code engine} until it has seen {@code targetImages} images in all (counting those of a resumed model),
     * evaluating every {@code evalInterval} images from its current position and once at the end.
     *
     * @param elapsedBefore training seconds of earlier sessions of this run (a resume), added to the records' elapsed time
     */
    public static void run(TrainingEngine engine, Data data, int batchSize, long targetImages, long evalInterval, double elapsedBefore,
                           Listener listener) throws IOException {
        Dataset train = data.train();
        long seed = engine.config().seed();
        long epochSize = data.epochSize();
        long start = System.nanoTime();
        long nextEval = engine.imagesSeen() + evalInterval;
        long lastEvalAt = -1;
        double smoothedLoss = Double.NaN, lossSum = 0, lr = engine.config().optim().learningRateAt(engine.imagesSeen());
        long lossSteps = 0, averagedSteps = 0;
        double lossAverage = 0;
        long cachedEpoch = -1;
        List<Sample> order = List.of();
        int size = train.channels() * train.height() * train.width();
        float[] x = new float[batchSize * size];
        int[] labels = new int[batchSize];
        while (engine.imagesSeen() < targetImages) {
            for (int j = 0; j < batchSize; j++) {
                long p = engine.imagesSeen() + j;
                if (p / epochSize != cachedEpoch) {
                    cachedEpoch = p / epochSize;
                    order = BatchAssembler.shuffled(train.samples(), seed, cachedEpoch);
                }
                Sample sample = order.get((int) (p % epochSize));
                data.augmenter().train(sample, seed, cachedEpoch, x, j * size);
                labels[j] = sample.label();
            }
            StepResult r = engine.trainStep(new Batch(x, labels, train.channels(), train.height(), train.width()));
            // Exponential average with bias correction, so the first steps show their own losses, not the first one's.
            lossAverage = 0.98 * lossAverage + 0.02 * r.loss();
            averagedSteps++;
            smoothedLoss = lossAverage / (1 - Math.pow(0.98, averagedSteps));
            lossSum += r.loss();
            lossSteps++;
            lr = r.learningRate();
            listener.stepped(engine, r, smoothedLoss);
            if (engine.imagesSeen() >= nextEval || engine.imagesSeen() >= targetImages) {
                double elapsed = elapsedBefore + (System.nanoTime() - start) / 1e9;
                listener.evaluated(engine, evaluate(engine, data, lossSteps == 0 ? Double.NaN : lossSum / lossSteps, lr, elapsed));
                lossSum = 0;
                lossSteps = 0;
                while (nextEval <= engine.imagesSeen()) nextEval += evalInterval;
                lastEvalAt = engine.imagesSeen();
            }
        }
        if (lastEvalAt != engine.imagesSeen()) {
            // Nothing to train (the model is already at the target): evaluate what there is.
            listener.evaluated(engine, evaluate(engine, data, Double.NaN, lr, elapsedBefore + (System.nanoTime() - start) / 1e9));
        }
    }

    /** Evaluates {@code engine} on the whole test split. */
    public static EvalRecord evaluate(TrainingEngine engine, Data data, double trainLoss, double lr, double elapsedSeconds) {
        long t0 = System.nanoTime();
        EvalResult r = engine.evaluate(BatchAssembler.evalBatches(data.test().samples(), EVAL_BATCH, data.augmenter()));
        return new EvalRecord(EvalRecord.FORMAT, null, null, null, engine.step(), engine.imagesSeen(),
                round(engine.config().optim().epochOf(engine.imagesSeen()), 1000), round(trainLoss, 1e6), lr, r.error(), round(r.loss(), 1e6),
                r.images(), round((System.nanoTime() - t0) / 1e9, 100), round(elapsedSeconds, 10), System.currentTimeMillis());
    }

    private static double round(double v, double scale) {
        return Double.isFinite(v) ? Math.round(v * scale) / scale : v;
    }
}
