package io.wrnstream.cli;

import io.wrnstream.model.Defaults;
import io.wrnstream.cli.train.EvalRecord;
import io.wrnstream.cli.train.OfflineTraining;
import io.wrnstream.model.progress.Progress;

import io.wrnstream.model.data.Dataset;
import io.wrnstream.model.engine.Engines;
import io.wrnstream.model.engine.StepResult;
import io.wrnstream.model.engine.TrainConfig;
import io.wrnstream.model.engine.TrainingEngine;
import io.wrnstream.model.io.ModelFile;
import io.wrnstream.model.optim.OptimConfig;
import io.wrnstream.model.optim.Schedule;
import io.wrnstream.model.wrn.WrnConfig;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

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

    @Option(names = "--epochs", description = "Epochs to train, fractional allowed (default 1 unless --images is given); "
            + "with --resume, epochs more. The paper trains 200.")
    Double epochs;

    @Option(names = "--images", description = "Images to train on instead of --epochs.")
    Long images;

    @Option(names = "--batch-size", defaultValue = Defaults.BATCH_SIZE_TEXT, description = "Minibatch size. Default: ${DEFAULT-VALUE} (paper).")
    int batchSize;

    @Option(names = "--lr", defaultValue = Defaults.LR_TEXT, description = "Base learning rate. Default: ${DEFAULT-VALUE} (paper).")
    double lr;

    @Option(names = "--schedule", defaultValue = Defaults.SCHEDULE, description = "Learning-rate schedule: step, cosine or constant. Default: ${DEFAULT-VALUE}.")
    String schedule;

    @Option(names = "--schedule-epochs", description = "Length of the lr schedule in epochs (step milestones at 30/60/80% of it, "
            + "as 60/120/160 are of the paper's 200). Default: this run's budget (--epochs or --images), so a short run still decays its lr.")
    Double scheduleEpochs;

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

    @Option(names = "--resume", description = "Continue training from this model file, with its model, dropout, batch size, seed and "
            + "schedule (giving a different one is refused).")
    Path resume;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        validate();
        ModelFile.Loaded resumed = resume == null ? null : ModelFile.load(resume);
        if (resumed != null) checkResumable(resumed.provenance().config());
        // --engine/--precision when given, else the resumed model's, else the default engine with its default precision
        String engineName = engine != null ? engine : resumed != null ? resumed.provenance().config().engine() : Defaults.ENGINE;
        String precisionName = precision != null ? precision : engine == null && resumed != null
                ? resumed.provenance().config().precision() : Defaults.PRECISION;
        if (TrainConfig.AUTO.equals(precisionName)) precisionName = TrainConfig.defaultPrecision(engineName);
        TrainConfig.checkEngine(engineName, precisionName);
        EngineRuntime.init(engineName, true, threads == 0 ? Runtime.getRuntime().availableProcessors() : threads);
        OfflineTraining.Data data = OfflineTraining.Data.open(this.data, limit, evalLimit, System.err);
        Dataset train = data.train();
        long epochSize = data.epochSize();
        long totalImages = images != null ? images : Math.round((epochs == null ? 1.0 : epochs) * epochSize);
        long evalInterval = evalEvery != null ? evalEvery : epochSize;

        try (TrainingEngine engine = resumed != null
                ? Engines.restore(resumed.snapshot(), engineName, precisionName) : Engines.create(freshConfig(train, engineName, precisionName,
                        totalImages, epochSize));
             BufferedWriter metrics = metricsOut == null ? null : Files.newBufferedWriter(metricsOut,
                     StandardOpenOption.CREATE, StandardOpenOption.APPEND)) {
            TrainConfig config = engine.config();
            System.err.println("Config: " + config);
            System.err.println(scheduleLine(config.optim(), engine.imagesSeen(), engine.imagesSeen() + totalImages, resumed != null));
            long startImages = engine.imagesSeen();
            Progress progress = new Progress("train " + config.wrn().name(), totalImages, "img");
            int batch = resumed != null ? config.batchSize() : batchSize;
            OfflineTraining.run(engine, data, batch, startImages + totalImages, evalInterval, 0, new OfflineTraining.Listener() {
                @Override
                public void stepped(TrainingEngine e, StepResult r, double smoothedLoss) {
                    progress.update(e.imagesSeen() - startImages, String.format(Locale.ROOT, "epoch %.2f | loss %.3f | lr %.4f",
                            config.optim().epochOf(e.imagesSeen()), smoothedLoss, r.learningRate()));
                }

                @Override
                public void evaluated(TrainingEngine e, EvalRecord record) throws IOException {
                    String json = record.toJson();
                    System.out.println(json);
                    System.out.flush();
                    if (metrics != null) {
                        metrics.write(json);
                        metrics.newLine();
                        metrics.flush();
                    }
                }
            });
            progress.finish(engine.imagesSeen() - startImages, "done");
            Files.createDirectories(out.toAbsolutePath().getParent());
            ModelFile.save(engine, out);
            System.err.println("Model written to " + out.toAbsolutePath());
        }
        return 0;
    }

    /** The configuration of a fresh run: the schedule spans --schedule-epochs, else this run's budget. */
    private TrainConfig freshConfig(Dataset train, String engineName, String precisionName, long totalImages, long epochSize) {
        WrnConfig wrn = WrnConfig.parse(model).withDropout(dropout)
                .withInput(train.channels(), train.height(), train.width(), train.classNames().size());
        double length = scheduleEpochs != null ? scheduleEpochs : (double) totalImages / epochSize;
        OptimConfig optim = OfflineTraining.paperOptim(lr, Schedule.valueOf(schedule.toUpperCase(Locale.ROOT)), length, epochSize);
        return new TrainConfig(wrn, optim, batchSize, seed, engineName, precisionName, train.description());
    }

    /** One line saying which schedule this run follows, and where it ends relative to the run. */
    static String scheduleLine(OptimConfig o, long fromImages, long toImages, boolean resumed) {
        String kind = switch (o.schedule()) {
            case STEP -> String.format(Locale.ROOT, "step, lr %s x%s at epochs %s", trim(o.learningRate()), trim(o.gamma()),
                    Arrays.stream(o.milestones()).mapToObj(TrainCommand::trim).collect(Collectors.joining("/")));
            case COSINE -> "cosine from lr " + trim(o.learningRate());
            case CONSTANT -> "constant lr " + trim(o.learningRate());
        };
        String line = String.format(Locale.ROOT, "Schedule: %s over %s epochs%s; this run trains epochs %s to %s", kind, trim(o.epochs()),
                resumed ? " (the resumed model's)" : "", trim(round3(o.epochOf(fromImages))), trim(round3(o.epochOf(toImages))));
        if (resumed && o.epochOf(toImages) > o.epochs() + 1e-9) {
            line += String.format(Locale.ROOT, " - past the schedule's end, so at lr %s", trim(o.learningRateAt(toImages)));
        }
        return line;
    }

    /** Options fixed when the model was created; --resume refuses a different value rather than ignore it. */
    private static final List<String> FIXED_BY_MODEL = List.of("--model", "--dropout", "--batch-size", "--lr", "--schedule",
            "--schedule-epochs", "--seed");

    /**
     * Refuses options given with --resume that differ from the model's: the model file fixes its shape, dropout, batch
     * size, seed and schedule.
     */
    void checkResumable(TrainConfig c) {
        List<String> differ = new ArrayList<>();
        for (String name : FIXED_BY_MODEL) {
            if (spec == null || !spec.commandLine().getParseResult().hasMatchedOption(name)) continue;
            String given, had;
            switch (name) {
                case "--model" -> { given = WrnConfig.parse(model).name(); had = c.wrn().name(); }
                case "--dropout" -> { given = trim(dropout); had = trim(c.wrn().dropout()); }
                case "--batch-size" -> { given = String.valueOf(batchSize); had = String.valueOf(c.batchSize()); }
                case "--lr" -> { given = trim(lr); had = trim(c.optim().learningRate()); }
                case "--schedule" -> { given = schedule.toLowerCase(Locale.ROOT); had = c.optim().schedule().name().toLowerCase(Locale.ROOT); }
                case "--schedule-epochs" -> { given = trim(scheduleEpochs); had = trim(c.optim().epochs()); }
                default -> { given = String.valueOf(seed); had = String.valueOf(c.seed()); }
            }
            if (!given.equals(had)) differ.add(name + " " + given + " (the model's: " + had + ")");
        }
        if (!differ.isEmpty()) {
            throw new IllegalStateException("--resume continues the model as it was created and cannot change " + String.join(", ", differ)
                    + "; drop these options or start a new run without --resume");
        }
    }

    private static double round3(double d) {
        return Math.round(d * 1000) / 1000.0;
    }

    private static String trim(double d) {
        String s = String.format(Locale.ROOT, "%.6f", d).replaceAll("0+$", "");
        return s.endsWith(".") ? s.substring(0, s.length() - 1) : s;
    }

    private void validate() {
        if (epochs != null && images != null) {
            throw new IllegalStateException("--epochs and --images conflict: give one of them");
        }
        if (scheduleEpochs != null && !(scheduleEpochs > 0) ) {
            throw new IllegalArgumentException("Invalid value " + scheduleEpochs + " for --schedule-epochs: must be > 0");
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
