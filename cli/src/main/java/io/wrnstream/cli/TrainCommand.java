package io.wrnstream.cli;

import io.wrnstream.model.Defaults;
import io.wrnstream.model.progress.Progress;

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
import io.wrnstream.model.engine.Engines;
import io.wrnstream.model.engine.StepResult;
import io.wrnstream.model.engine.TrainConfig;
import io.wrnstream.model.engine.TrainingEngine;
import io.wrnstream.model.eval.EvalResult;
import io.wrnstream.model.io.ModelFile;
import io.wrnstream.model.optim.OptimConfig;
import io.wrnstream.model.optim.Schedule;
import io.wrnstream.model.wrn.WrnConfig;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code train}: offline training of a WRN on a dataset path by the paper's recipe, with a progress bar, a test
 * evaluation every epoch (or every N images) written as JSON lines, and a model file at the end.
 */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = "Train a WRN on a dataset (CIFAR binary, image folder/zip, IDX); one JSON line per evaluation.")
public final class TrainCommand implements Callable<Integer> {

    @Option(names = "--data", required = true, description = "Dataset path: CIFAR-10/100 binary folder, <split>/<class>/<img> folder or zip, or IDX folder.")
    Path data;

    @Option(names = "--model", defaultValue = Defaults.MODEL, description = "Model spec wrn-D-K. Default: ${DEFAULT-VALUE}.")
    String model;

    @Option(names = "--epochs", description = "Epochs to train (default 1 unless --images is given).")
    Double epochs;

    @Option(names = "--images", description = "Images to train on instead of --epochs.")
    Long images;

    @Option(names = "--batch-size", defaultValue = Defaults.BATCH_SIZE_TEXT, description = "Minibatch size. Default: ${DEFAULT-VALUE} (paper).")
    int batchSize;

    @Option(names = "--lr", defaultValue = Defaults.LR_TEXT, description = "Base learning rate. Default: ${DEFAULT-VALUE} (paper).")
    double lr;

    @Option(names = "--schedule", defaultValue = Defaults.SCHEDULE, description = "Learning-rate schedule: step, cosine or constant. Default: ${DEFAULT-VALUE}.")
    String schedule;

    @Option(names = "--schedule-epochs", defaultValue = Defaults.SCHEDULE_EPOCHS_TEXT, description = "Length of the schedule in epochs (step milestones scale with it: 0.3/0.6/0.8 of it). Default: ${DEFAULT-VALUE} (paper).")
    double scheduleEpochs;

    @Option(names = "--dropout", defaultValue = Defaults.DROPOUT_TEXT, description = "Dropout probability between the convolutions of a block (paper: 0.3). Default: ${DEFAULT-VALUE}.")
    double dropout;

    @Option(names = "--engine", description = "Numeric engine: libtorch, dl4j or worker (default: " + Defaults.ENGINE + ", or the --resume model's; any engine continues another's model).")
    String engine;

    @Option(names = "--precision", description = "fp32, bf16 (libtorch only: autocast, fp32 master weights) or auto (bf16 for libtorch where bf16 is fast, else fp32). Default: auto, or the --resume model's.")
    String precision;

    @Option(names = "--seed", defaultValue = Defaults.SEED_TEXT, description = "Seed for weights, shuffling and augmentation. Default: ${DEFAULT-VALUE}.")
    long seed;

    @Option(names = "--eval-every", description = "Evaluate every N training images (default: every epoch).")
    Long evalEvery;

    @Option(names = "--eval-limit", defaultValue = "0", description = "Evaluate on the first N test images only (0: all). Default: ${DEFAULT-VALUE}.")
    int evalLimit;

    @Option(names = "--limit", defaultValue = "0", description = "Use only the first N training images (0: all). Default: ${DEFAULT-VALUE}.")
    int limit;

    @Option(names = "--threads", defaultValue = "0", description = "Compute threads (0: all cores). Default: ${DEFAULT-VALUE}.")
    int threads;

    @Option(names = "--out", defaultValue = "runs/model.wrn", description = "Model file to write. Default: ${DEFAULT-VALUE}.")
    Path out;

    @Option(names = "--metrics-out", description = "Also append the evaluation JSON lines to this file.")
    Path metricsOut;

    @Option(names = "--resume", description = "Continue training from this model file.")
    Path resume;

    @Override
    public Integer call() throws IOException {
        validate();
        ModelFile.Loaded resumed = resume == null ? null : ModelFile.load(resume);
        // --engine/--precision when given, else the resumed model's, else the default engine with its default precision
        String engineName = engine != null ? engine : resumed != null ? resumed.provenance().config().engine() : Defaults.ENGINE;
        String precisionName = precision != null ? precision : engine == null && resumed != null
                ? resumed.provenance().config().precision() : Defaults.PRECISION;
        if (TrainConfig.AUTO.equals(precisionName)) precisionName = TrainConfig.defaultPrecision(engineName);
        TrainConfig.checkEngine(engineName, precisionName);
        EngineRuntime.init(engineName, true, threads == 0 ? Runtime.getRuntime().availableProcessors() : threads);
        ReadOptions trainOpts = limit > 0 ? ReadOptions.defaults().withLimit(limit) : ReadOptions.defaults();
        ReadOptions testOpts = evalLimit > 0 ? ReadOptions.defaults().withLimit(evalLimit) : ReadOptions.defaults();
        System.err.println("Reading " + data + " ...");
        Dataset train = Datasets.open(data, Split.TRAIN, trainOpts);
        Dataset test = Datasets.open(data, Split.TEST, testOpts);
        System.err.printf(Locale.ROOT, "train: %s (%d images), test: %d images, %d classes, %dx%dx%d%n", train.description(),
                train.samples().size(), test.samples().size(), train.classNames().size(), train.channels(), train.height(), train.width());

        WrnConfig wrn = WrnConfig.parse(model).withDropout(dropout)
                .withInput(train.channels(), train.height(), train.width(), train.classNames().size());
        long epochSize = train.samples().size();
        double[] milestones = {0.3 * scheduleEpochs, 0.6 * scheduleEpochs, 0.8 * scheduleEpochs};
        OptimConfig optim = new OptimConfig(lr, OptimConfig.PAPER_MOMENTUM, true, OptimConfig.PAPER_WEIGHT_DECAY, true,
                Schedule.valueOf(schedule.toUpperCase(Locale.ROOT)), milestones, OptimConfig.PAPER_GAMMA, scheduleEpochs, epochSize);
        TrainConfig config = new TrainConfig(wrn, optim, batchSize, seed, engineName, precisionName, train.description());
        Normalization norm = train.channels() == 3 ? Normalization.CIFAR10 : Normalization.compute(train.samples());
        Augmenter augmenter = new Augmenter(AugmentConfig.paper(), norm);

        long totalImages = images != null ? images : Math.round((epochs == null ? 1.0 : epochs) * epochSize);
        long evalInterval = evalEvery != null ? evalEvery : epochSize;
        System.err.println("Config: " + config);

        try (TrainingEngine engine = resumed != null
                ? Engines.restore(resumed.snapshot(), engineName, precisionName) : Engines.create(config);
             BufferedWriter metrics = metricsOut == null ? null : Files.newBufferedWriter(metricsOut,
                     StandardOpenOption.CREATE, StandardOpenOption.APPEND)) {
            long startImages = engine.imagesSeen();
            long target = startImages + totalImages;
            Progress progress = new Progress("train " + wrn.name(), totalImages, "img");
            long nextEval = startImages + evalInterval;
            double smoothedLoss = Double.NaN;
            long lastEvalAt = -1;
            // The data is read as a stream that replays the dataset, one fresh seeded shuffle per epoch: image p of
            // the stream is entry p % N of the shuffle of epoch p / N. Batches may straddle two epochs, as in Flink.
            long cachedEpoch = -1;
            List<Sample> order = List.of();
            int size = train.channels() * train.height() * train.width();
            float[] x = new float[batchSize * size];
            int[] labels = new int[batchSize];
            while (engine.imagesSeen() < target) {
                for (int j = 0; j < batchSize; j++) {
                    long p = engine.imagesSeen() + j;
                    if (p / epochSize != cachedEpoch) {
                        cachedEpoch = p / epochSize;
                        order = BatchAssembler.shuffled(train.samples(), seed, cachedEpoch);
                    }
                    Sample sample = order.get((int) (p % epochSize));
                    augmenter.train(sample, seed, cachedEpoch, x, j * size);
                    labels[j] = sample.label();
                }
                Batch batch = new Batch(x, labels, train.channels(), train.height(), train.width());
                StepResult r = engine.trainStep(batch);
                smoothedLoss = Double.isNaN(smoothedLoss) ? r.loss() : 0.98 * smoothedLoss + 0.02 * r.loss();
                progress.update(engine.imagesSeen() - startImages, String.format(Locale.ROOT,
                        "epoch %.2f | loss %.3f | lr %.4f", optim.epochOf(engine.imagesSeen()), smoothedLoss, r.learningRate()));
                if (engine.imagesSeen() >= nextEval) {
                    evaluate(engine, test, augmenter, progress, metrics);
                    nextEval += evalInterval;
                    lastEvalAt = engine.imagesSeen();
                }
            }
            progress.finish(engine.imagesSeen() - startImages, String.format(Locale.ROOT, "loss %.3f", smoothedLoss));
            if (lastEvalAt != engine.imagesSeen()) {
                evaluate(engine, test, augmenter, progress, metrics);
            }
            Files.createDirectories(out.toAbsolutePath().getParent());
            ModelFile.save(engine, out);
            System.err.println("Model written to " + out.toAbsolutePath());
        }
        return 0;
    }

    private void evaluate(TrainingEngine engine, Dataset test, Augmenter augmenter, Progress progress, BufferedWriter metrics)
            throws IOException {
        long t0 = System.nanoTime();
        Iterator<Batch> it = BatchAssembler.evalBatches(test.samples(), 256, augmenter);
        EvalResult r = engine.evaluate(it);
        String json = new TrainEvaluation(engine.step(), engine.imagesSeen(),
                Math.round(engine.config().optim().epochOf(engine.imagesSeen()) * 1000) / 1000.0, r.error(), r.loss(), r.images(),
                Math.round((System.nanoTime() - t0) / 1e7) / 100.0, Math.round(progress.elapsedSeconds() * 10) / 10.0).toJson();
        System.out.println(json);
        System.out.flush();
        if (metrics != null) {
            metrics.write(json);
            metrics.newLine();
            metrics.flush();
        }
    }

    private void validate() {
        if (epochs != null && images != null) {
            throw new IllegalStateException("--epochs and --images conflict: give one of them");
        }
        if (epochs != null && !(epochs > 0)) throw new IllegalArgumentException("Invalid value " + epochs + " for --epochs: must be > 0");
        if (images != null && images < 1) throw new IllegalArgumentException("Invalid value " + images + " for --images: must be >= 1");
        if (evalEvery != null && evalEvery < 1) throw new IllegalArgumentException("Invalid value " + evalEvery + " for --eval-every: must be >= 1");
        if (!List.of("step", "cosine", "constant").contains(schedule.toLowerCase(Locale.ROOT))) {
            throw new IllegalArgumentException("Invalid value '" + schedule + "' for --schedule: must be one of step, cosine, constant");
        }
        if (!Files.exists(data)) {
            throw new IllegalArgumentException("Invalid value '" + data + "' for --data: no such file or directory");
        }
    }
}
