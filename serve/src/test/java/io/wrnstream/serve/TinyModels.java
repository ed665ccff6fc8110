package io.wrnstream.serve;

import io.wrnstream.kafka.format.ImageCodec;
import io.wrnstream.kafka.format.ImageEncoding;
import io.wrnstream.model.data.Sample;
import io.wrnstream.model.engine.Batch;
import io.wrnstream.model.engine.Engines;
import io.wrnstream.model.engine.TrainConfig;
import io.wrnstream.model.engine.TrainingEngine;
import io.wrnstream.model.io.ModelFile;
import io.wrnstream.model.optim.OptimConfig;
import io.wrnstream.model.optim.Schedule;
import io.wrnstream.model.wrn.WrnConfig;
import java.nio.file.Path;
import java.util.SplittableRandom;

/** Model files of a tiny WRN-10-1 on 3x16x16 images, 10 classes, trained a few steps on random data, and test images. */
final class TinyModels {
    static final int C = 3, H = 16, W = 16;

    private TinyModels() {}

    static TrainConfig config() {
        return new TrainConfig(new WrnConfig(10, 1, 0.0, 10, C, H, W), OptimConfig.paper().withSchedule(Schedule.CONSTANT), 8, 7L,
                "dl4j", "fp32", "synthetic");
    }

    /** Trains {@code steps} steps and writes model files after {@code steps[i]} cumulative steps to {@code files[i]}. */
    static void write(int[] steps, Path[] files) {
        try (TrainingEngine e = Engines.create(config())) {
            SplittableRandom r = new SplittableRandom(3);
            int done = 0;
            for (int i = 0; i < steps.length; i++) {
                for (; done < steps[i]; done++) {
                    float[] x = new float[8 * C * H * W];
                    int[] labels = new int[8];
                    for (int j = 0; j < x.length; j++) x[j] = (float) r.nextGaussian();
                    for (int j = 0; j < labels.length; j++) labels[j] = r.nextInt(10);
                    e.trainStep(new Batch(x, labels, C, H, W));
                }
                ModelFile.save(e, files[i]);
            }
        }
    }

    static Sample image(long seed, int c, int h, int w) {
        byte[] px = new byte[c * h * w];
        new SplittableRandom(seed).nextBytes(px);
        return new Sample(seed, 0, c, h, w, px);
    }

    static byte[] png(Sample s) {
        return ImageCodec.encode(s, ImageEncoding.PNG);
    }
}
