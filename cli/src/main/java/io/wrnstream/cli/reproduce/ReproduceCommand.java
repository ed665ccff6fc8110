package io.wrnstream.cli.reproduce;

import io.wrnstream.cli.EngineRuntime;
import io.wrnstream.cli.report.ComparisonReport;
import io.wrnstream.cli.report.LearningCurve;
import io.wrnstream.cli.train.EvalRecord;
import io.wrnstream.cli.train.OfflineTraining;
import io.wrnstream.model.engine.Engines;
import io.wrnstream.model.engine.StepResult;
import io.wrnstream.model.engine.TrainConfig;
import io.wrnstream.model.engine.TrainingEngine;
import io.wrnstream.model.io.ModelFile;
import io.wrnstream.model.optim.OptimConfig;
import io.wrnstream.model.optim.Schedule;
import io.wrnstream.model.progress.Progress;
import io.wrnstream.model.wrn.WrnConfig;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code reproduce}: runs every arm of one of the paper's comparisons under a budget and writes one HTML report with
 * the table and the learning curves of all arms. Offline by default (the {@code train} loop); {@code --streaming} runs
 * each arm through the Flink job on the embedded runtime. Each arm keeps its model and evaluations in
 * {@code OUT/arms/NAME/}, so rerunning the same command after an interruption continues where it stopped.
 *
 * <pre>
 * wrn-stream reproduce --list
 * wrn-stream reproduce --experiment dropout --epochs 10 --out runs/dropout
 * wrn-stream reproduce --experiment my-comparison.yaml --minutes 120
 * </pre>
 */
@Command(name = "reproduce", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Run one of the paper's comparisons under a budget; JSON lines per evaluation, one HTML report at the end.",
                "Shipped experiments: width-vs-depth (WRN-28-10 vs WRN-40-1), dropout (WRN-40-1 and WRN-16-4, with and without "
                        + "dropout), width (the paper's width table). --list prints them; --experiment FILE runs your own (YAML, "
                        + "format " + Experiment.FORMAT + ").",
                "A budget under the paper's 200 epochs is a reduced-budget miniature, and every output says so."})
public final class ReproduceCommand implements Callable<Integer> {

    @Option(names = "--list", description = "Print the shipped experiments, one a line, and exit.")
    boolean list;

    @Option(names = "--experiment", paramLabel = "NAME|FILE", description = "A shipped experiment (width-vs-depth, dropout, width) or a YAML file.")
    String experiment;

    @Option(names = "--epochs", description = "Epochs per arm, fractional allowed (e.g. 0.05); the lr schedule spans them "
            + "(x0.2 at 30/60/80%%). Default: the experiment's full length (the paper: 200).")
    Double epochs;

    @Option(names = "--minutes", description = "Wall-time budget for the whole experiment instead of --epochs: the arms' speeds are "
            + "measured first and the epochs per arm chosen to fit.")
    Double minutes;

    @Option(names = "--out", paramLabel = "DIR", description = "Output folder (default: repro/NAME). Rerun with the same folder to continue.")
    Path out;

    @Option(names = "--streaming", description = "Run each arm through the streaming job (embedded Kafka + Flink MiniCluster) instead of offline.")
    boolean streaming;

    @Option(names = "--engine", defaultValue = "libtorch", description = "Numeric engine: libtorch or dl4j. Default: ${DEFAULT-VALUE} (the fastest here).")
    String engine;

    @Option(names = "--precision", defaultValue = "auto", description = "fp32, bf16 (libtorch) or auto (bf16 where it is fast). Default: ${DEFAULT-VALUE}.")
    String precision;

    @Option(names = "--threads", defaultValue = "0", description = "Compute threads (0: all cores). Default: ${DEFAULT-VALUE}.")
    int threads;

    @Option(names = "--data", paramLabel = "PATH", description = "Dataset path instead of the experiment's.")
    Path data;

    @Option(names = "--arms", split = ",", paramLabel = "NAME", description = "Run only these arms (comma-separated).")
    List<String> arms;

    @Option(names = "--model", description = "Run every arm on this model instead of its own (a miniature; the figures stay the file's).")
    String model;

    @Option(names = "--limit", defaultValue = "0", description = "Train on the first N images only, 0: all (a miniature). Default: ${DEFAULT-VALUE}.")
    int limit;

    @Option(names = "--eval-limit", defaultValue = "0", description = "Test on the first N images only, 0: all (a miniature). Default: ${DEFAULT-VALUE}.")
    int evalLimit;

    @Option(names = "--evaluations", defaultValue = "10", description = "At least this many evaluations per arm; more when the run is "
            + "longer (one per epoch). Default: ${DEFAULT-VALUE}.")
    int evaluations;

    @Option(names = "--report-only", description = "Train nothing: write the report from what the arms' folders hold now "
            + "(e.g. while another process runs the experiment).")
    boolean reportOnly;

    @Option(names = "--stop-after-evaluations", hidden = true, defaultValue = "0",
            description = "Testing: stop as if interrupted after N evaluations of this session (exit code 3).")
    int stopAfter;

    /** Exit code of a run stopped by --stop-after-evaluations. */
    static final int STOPPED = 3;

    private final PrintStream human = System.err;
    private int evaluationsThisSession;

    /** Thrown to stop a run as an interruption would (testing only). */
    private static final class Stopped extends RuntimeException {
        Stopped() {
            super(null, null, false, false);
        }
    }
    private final PrintStream json = System.out;

    @Override
    public Integer call() throws Exception {
        if (list) {
            Experiments.listing().forEach(json::println);
            return 0;
        }
        if (experiment == null) {
            throw new IllegalArgumentException("Missing --experiment NAME|FILE: one of " + Experiments.SHIPPED + " or a YAML file (see --list)");
        }
        validate();
        Experiment ex = Experiments.resolve(experiment);
        if (arms != null && !arms.isEmpty()) ex = ex.withArms(arms);
        if (model != null) ex = ex.withModel(model);
        Path outDir = (out != null ? out : Path.of("repro", ex.name())).toAbsolutePath();
        Files.createDirectories(outDir);
        String precisionName = TrainConfig.AUTO.equals(precision) ? TrainConfig.defaultPrecision(engine) : precision;
        TrainConfig.checkEngine(engine, precisionName);
        EngineRuntime.init(engine, true, threads == 0 ? Runtime.getRuntime().availableProcessors() : threads);
        Path dataPath = data != null ? data : Path.of(ex.data().path());
        if (!Files.exists(dataPath)) {
            throw new IllegalArgumentException("Invalid value '" + dataPath + "' for " + (data != null ? "--data" : "data.path of " + ex.name())
                    + ": no such file or directory (pass --data PATH)");
        }
        OfflineTraining.Data d = OfflineTraining.Data.open(dataPath, limit, evalLimit, human);
        double armEpochs = epochs != null ? epochs : minutes != null ? BudgetProbe.epochsFor(ex, d, minutes, outDir, engine, precisionName, human)
                : ex.recipe().epochs();
        Budget budget = budget(ex, armEpochs);
        human.println("reproduce: " + ex.name() + " - " + ex.title());
        human.println("reproduce: " + budget.banner());
        human.println("reproduce: " + ex.arms().size() + " arms on " + engine + " " + precisionName + (streaming ? ", streaming" : ", offline")
                + ", output " + outDir);

        List<ArmPlan> plans = new ArrayList<>();
        for (Experiment.Arm a : ex.arms()) plans.add(plan(ex, a, d, budget, precisionName, outDir));
        long remaining = plans.stream().mapToLong(p -> Math.max(0, p.target - p.startImages)).sum();
        Progress progress = new Progress("reproduce " + ex.name(), remaining, "img");
        long[] doneBefore = {0};
        for (int i = 0; i < plans.size(); i++) {
            ArmPlan p = plans.get(i);
            String where = "arm " + (i + 1) + "/" + plans.size() + " " + p.arm.name();
            if (reportOnly) continue;
            if (p.startImages >= p.target) {
                human.println("reproduce: " + where + " already complete (" + Budget.trim(p.config.optim().epochOf(p.startImages))
                        + " epochs in " + p.folder.dir + "), not retrained");
                continue;
            }
            human.println("reproduce: " + where + ": " + p.config.wrn().name() + ", dropout " + Budget.trim(p.arm.dropout()) + ", "
                    + p.config.wrn().trainableParameters() + " parameters, "
                    + (p.startImages > 0 ? "continuing at epoch " + Budget.trim(p.config.optim().epochOf(p.startImages)) : "from scratch"));
            if (streaming) {
                StreamingArm.run(p, ex, budget, d, dataPath, human, json, progress, doneBefore);
            } else {
                try {
                    runOffline(p, ex, budget, d, where, progress, doneBefore);
                } catch (Stopped s) {
                    human.println("reproduce: stopped after " + evaluationsThisSession + " evaluations (--stop-after-evaluations); "
                            + "rerun the same command to continue");
                    return STOPPED;
                }
            }
        }
        if (!reportOnly) progress.finish(doneBefore[0], "all arms done");

        List<ComparisonReport.Arm> results = new ArrayList<>();
        for (ArmPlan p : plans) {
            List<String> lines = p.folder.linesUpTo(Long.MAX_VALUE);
            double wall = lines.isEmpty() ? 0 : ArmFolder.elapsedOf(lines.get(lines.size() - 1));
            results.add(new ComparisonReport.Arm(p.arm.name(), p.config.wrn().name(), p.arm.dropout(), p.config.wrn().trainableParameters(),
                    LearningCurve.parse(lines), p.arm.paper(), p.arm.reproduction(), wall));
        }
        Path report = outDir.resolve("report.html");
        String context = String.format(Locale.ROOT, "Data: %s (%d training, %d test images; %s). Seed %d. Engine %s %s, %s. Machine: %s.",
                dataPath, d.train().samples().size(), d.test().samples().size(), ex.data().preprocessing(), ex.seed(), engine, precisionName,
                streaming ? "each arm through the streaming job on the embedded runtime (Kafka + Flink MiniCluster)" : "offline training loop",
                Machine.describe());
        Files.writeString(report, ComparisonReport.render(ex.title() + (budget.miniature() ? " (reduced-budget miniature)" : ""),
                ex.description(), budget.banner(), budget.miniature(), context, results, budget.epochs()), StandardCharsets.UTF_8);
        for (String l : ComparisonReport.textTable(results, budget.epochs())) human.println("reproduce: " + l);
        human.println("reproduce: " + budget.banner());
        human.println("reproduce: report written to " + report);
        return 0;
    }

    /** What one arm runs: its folder, configuration and where it starts. */
    record ArmPlan(Experiment.Arm arm, ArmFolder folder, TrainConfig config, long startImages, long target, long evalInterval,
                   ModelFile.Loaded saved) {}

    private ArmPlan plan(Experiment ex, Experiment.Arm a, OfflineTraining.Data d, Budget budget, String precisionName, Path outDir) {
        Experiment.Recipe r = ex.recipeOf(a);
        long epochSize = d.epochSize();
        OptimConfig optim = OfflineTraining.paperOptim(r.lr(), Schedule.valueOf(r.schedule().toUpperCase(Locale.ROOT)), budget.epochs(), epochSize);
        WrnConfig wrn = WrnConfig.parse(a.model()).withDropout(a.dropout())
                .withInput(d.train().channels(), d.train().height(), d.train().width(), d.train().classNames().size());
        TrainConfig config = new TrainConfig(wrn, optim, r.batchSize(), ex.seed(), engine, precisionName, d.train().description());
        ArmFolder folder = new ArmFolder(outDir, a.name());
        ModelFile.Loaded saved = folder.saved();
        long start = 0;
        if (saved != null) {
            folder.checkSame(saved.provenance().config(), config);
            start = saved.provenance().imagesSeen();
        }
        long target = Math.max(1, Math.round(budget.epochs() * epochSize));
        long interval = Math.max(1, Math.min(epochSize, (long) Math.ceil((double) target / Math.max(1, evaluations))));
        return new ArmPlan(a, folder, config, start, target, interval, saved);
    }

    private void runOffline(ArmPlan p, Experiment ex, Budget budget, OfflineTraining.Data d, String where, Progress progress, long[] doneBefore)
            throws IOException {
        List<String> earlier = p.folder.linesUpTo(p.startImages);
        double elapsedBefore = earlier.isEmpty() ? 0 : ArmFolder.elapsedOf(earlier.get(earlier.size() - 1));
        try (TrainingEngine eng = p.saved != null ? Engines.restore(p.saved.snapshot(), p.config.engine(), p.config.precision())
                : Engines.create(p.config)) {
            long armStart = eng.imagesSeen();
            long base = doneBefore[0];
            OfflineTraining.Listener listener = new OfflineTraining.Listener() {
                @Override
                public void stepped(TrainingEngine e, StepResult r, double smoothedLoss) {
                    progress.update(base + e.imagesSeen() - armStart, String.format(Locale.ROOT, "%s | epoch %.2f/%s | loss %.3f | lr %.4f%s",
                            where, p.config.optim().epochOf(e.imagesSeen()), Budget.trim(budget.epochs()), smoothedLoss, r.learningRate(),
                            budget.miniature() ? " | miniature" : ""));
                }

                @Override
                public void evaluated(TrainingEngine e, EvalRecord record) {
                    record(p, ex, budget, e, record);
                }
            };
            if (!earlier.isEmpty() && ArmFolder.imagesOf(earlier.get(earlier.size() - 1)) != eng.imagesSeen()) {
                // The model was saved but its evaluation line was not written: evaluate it again.
                record(p, ex, budget, eng, OfflineTraining.evaluate(eng, d, Double.NaN, p.config.optim().learningRateAt(eng.imagesSeen()),
                        elapsedBefore));
            }
            OfflineTraining.run(eng, d, p.config.batchSize(), p.target, p.evalInterval, elapsedBefore, listener);
            doneBefore[0] = base + eng.imagesSeen() - armStart;
        }
    }

    /** Saves the model, then appends the evaluation: a crash between the two re-evaluates on resume, never loses the model. */
    private void record(ArmPlan p, Experiment ex, Budget budget, TrainingEngine e, EvalRecord record) {
        ModelFile.save(e, p.folder.model);
        String line = record.inArm(ex.name(), p.arm.name(), budget.protocol()).toJson();
        p.folder.append(line);
        json.println(line);
        json.flush();
        human.printf(Locale.ROOT, "reproduce: %s epoch %s: test error %.2f%%, train loss %s%s%n", p.arm.name(), Budget.trim(record.epochs()),
                100 * record.testError(), record.trainLoss() == null ? "n/a" : String.format(Locale.ROOT, "%.4f", record.trainLoss()),
                budget.miniature() ? " (miniature)" : "");
        if (stopAfter > 0 && ++evaluationsThisSession >= stopAfter) throw new Stopped();
    }

    private Budget budget(Experiment ex, double armEpochs) {
        List<String> notes = new ArrayList<>();
        if (model != null) notes.add("every arm on " + WrnConfig.parse(model).name() + " instead of the file's model (figures are the file's)");
        // The streaming path ingests a seeded subset; the offline loop reads the first images.
        if (limit > 0) notes.add((streaming ? "a seeded subset of " : "first ") + limit + " training images only");
        if (evalLimit > 0) notes.add((streaming ? "a seeded subset of " : "first ") + evalLimit + " test images only");
        if (data != null) notes.add("data " + data + " instead of " + ex.data().path());
        return new Budget(armEpochs, ex.recipe().epochs(), !notes.isEmpty() && (model != null || limit > 0 || evalLimit > 0), String.join("; ", notes));
    }

    private void validate() {
        if (epochs != null && minutes != null) throw new IllegalStateException("--epochs and --minutes conflict: give one budget");
        if (epochs != null && (!(epochs > 0) || epochs.isInfinite())) {
            throw new IllegalArgumentException("Invalid value " + epochs + " for --epochs: must be a number > 0 (e.g. 0.05, 10, 200)");
        }
        if (minutes != null && (!(minutes > 0) || minutes.isInfinite())) {
            throw new IllegalArgumentException("Invalid value " + minutes + " for --minutes: must be a number > 0");
        }
        if (limit < 0) throw new IllegalArgumentException("Invalid value " + limit + " for --limit: must be >= 0 (0: all)");
        if (evalLimit < 0) throw new IllegalArgumentException("Invalid value " + evalLimit + " for --eval-limit: must be >= 0 (0: all)");
        if (evaluations < 1) throw new IllegalArgumentException("Invalid value " + evaluations + " for --evaluations: must be >= 1");
        if (streaming && minutes != null) {
            throw new IllegalStateException("--minutes measures the offline loop's speed: give --epochs with --streaming");
        }
    }
}
