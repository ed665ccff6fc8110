package io.wrnstream.cli.reproduce;

import io.wrnstream.cli.train.OfflineTraining;
import io.wrnstream.model.augment.BatchAssembler;
import io.wrnstream.model.engine.Batch;
import io.wrnstream.model.engine.Engines;
import io.wrnstream.model.engine.TrainConfig;
import io.wrnstream.model.engine.TrainingEngine;
import io.wrnstream.model.optim.OptimConfig;
import io.wrnstream.model.wrn.WrnConfig;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Turns a wall-time budget into epochs per arm: times a few training steps of every arm (after a warm-up step) and
 * picks the epochs that fit the minutes, evaluations included. The choice is kept in {@code OUT/budget.txt}, so a
 * resumed run trains to the same schedule.
 */
final class BudgetProbe {
    static final int STEPS = 3;

    private BudgetProbe() {}

    static double epochsFor(Experiment ex, OfflineTraining.Data d, double minutes, Path out, String engine, String precision,
                            PrintStream log) throws IOException {
        Path kept = out.resolve("budget.txt");
        if (Files.isRegularFile(kept)) {
            double e = Double.parseDouble(Files.readString(kept, StandardCharsets.UTF_8).trim());
            log.println("reproduce: --minutes: continuing with the " + Budget.trim(e) + " epochs per arm chosen at the start (" + kept + ")");
            return e;
        }
        double secondsPerEpochAll = 0;
        for (Experiment.Arm a : ex.arms()) {
            Experiment.Recipe r = ex.recipeOf(a);
            WrnConfig wrn = WrnConfig.parse(a.model()).withDropout(a.dropout())
                    .withInput(d.train().channels(), d.train().height(), d.train().width(), d.train().classNames().size());
            TrainConfig c = new TrainConfig(wrn, OptimConfig.paper().withEpochs(1, d.epochSize()), r.batchSize(), ex.seed(), engine, precision, "");
            try (TrainingEngine e = Engines.create(c)) {
                Batch b = BatchAssembler.trainBatch(d.train().samples().subList(0, Math.min(r.batchSize(), d.train().samples().size())),
                        d.augmenter(), ex.seed(), 0);
                e.trainStep(b);  // warm-up
                long t0 = System.nanoTime();
                for (int i = 0; i < STEPS; i++) e.trainStep(b);
                double perImage = (System.nanoTime() - t0) / 1e9 / (STEPS * b.size());
                // An epoch of training plus, per epoch, about one evaluation (inference: about a third of a training step's cost).
                double perEpoch = perImage * (d.epochSize() + d.test().samples().size() / 3.0);
                log.printf(Locale.ROOT, "reproduce: --minutes: %s trains at %.1f images/s here, about %s per epoch%n", a.name(), 1 / perImage,
                        io.wrnstream.model.progress.Progress.clock(perEpoch));
                secondsPerEpochAll += perEpoch;
            }
        }
        double epochs = Math.floor(minutes * 60 / secondsPerEpochAll * 100) / 100;
        if (epochs < 0.01) {
            throw new IllegalArgumentException("Invalid value " + minutes + " for --minutes: at the measured speed one epoch of all arms takes "
                    + io.wrnstream.model.progress.Progress.clock(secondsPerEpochAll) + ", so the budget fits less than 0.01 epochs");
        }
        Files.writeString(kept, Budget.trim(epochs) + "\n", StandardCharsets.UTF_8);
        log.println("reproduce: --minutes " + Budget.trim(minutes) + " -> " + Budget.trim(epochs) + " epochs per arm (kept in " + kept + ")");
        return epochs;
    }
}
