package io.wrnstream.engine.dl4j;

import io.wrnstream.model.engine.Batch;
import io.wrnstream.model.engine.Engines;
import io.wrnstream.model.engine.TrainConfig;
import io.wrnstream.model.engine.TrainingEngine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.wrnstream.model.augment.AugmentConfig;
import io.wrnstream.model.augment.Augmenter;
import io.wrnstream.model.augment.BatchAssembler;
import io.wrnstream.model.augment.Normalization;
import io.wrnstream.model.data.Dataset;
import io.wrnstream.model.data.Datasets;
import io.wrnstream.model.data.ReadOptions;
import io.wrnstream.model.data.Sample;
import io.wrnstream.model.data.Split;
import io.wrnstream.model.eval.EvalResult;
import io.wrnstream.model.optim.OptimConfig;
import io.wrnstream.model.optim.Schedule;
import io.wrnstream.model.wrn.WrnConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The whole training path (network, loss, backprop, Nesterov update) can fit data: a tiny WRN drives the loss on 64
 * fixed real CIFAR-10 images to near zero. Needs the shared dataset; skipped with a message when it is absent.
 */
class OverfitTest {

    @Test
    void tinyWrnOverfits64CifarImagesToNearZeroLoss() throws Exception {
        Path cifar = Path.of(System.getProperty("wrn.datasets", "../shared/datasets"), "cifar10-jpeg");
        assumeTrue(Files.isDirectory(cifar), "Shared CIFAR-10 at " + cifar + " is absent (set -Dwrn.datasets); skipping");
        Dataset test = Datasets.open(cifar, Split.TEST, ReadOptions.defaults());
        List<Sample> fixed = BatchAssembler.shuffled(test.samples(), 1, 0).subList(0, 64);  // all classes mixed
        Augmenter noAugmentation = new Augmenter(AugmentConfig.none(), Normalization.CIFAR10);
        Batch batch = BatchAssembler.evalBatch(fixed, noAugmentation);

        OptimConfig optim = new OptimConfig(0.1, 0.9, true, 0.0, false, Schedule.CONSTANT, null, 1, 1, 64);
        TrainConfig config = new TrainConfig(new WrnConfig(10, 1, 0.0, 10, 3, 32, 32), optim, 64, 3, "dl4j", "fp32", "64 CIFAR-10 test images");
        try (TrainingEngine engine = Engines.create(config)) {
            double first = engine.trainStep(batch).loss();
            double last = first;
            int steps = 1;
            for (; steps < 200 && last > 0.02; steps++) {
                last = engine.trainStep(batch).loss();
            }
            System.out.println("overfit: loss " + first + " -> " + last + " in " + steps + " steps");
            EvalResult eval = engine.evaluate(List.of(batch).iterator());
            assertThat(first).as("initial loss, about ln 10").isGreaterThan(1.5);
            assertThat(last).as("training loss after fitting 64 images").isLessThan(0.05);
            assertThat(eval.error()).as("error on the same 64 images in inference mode").isLessThan(0.05);
        }
    }
}
