package io.wrnstream.model.engine;

import io.wrnstream.model.optim.OptimConfig;
import io.wrnstream.model.optim.Schedule;
import io.wrnstream.model.wrn.WrnConfig;
import java.util.Random;

/** Tiny models and learnable synthetic batches for fast engine tests. */
public final class TinyData {
    private TinyData() {}

    /** WRN-10-1 on 3x8x8 images, 4 classes. */
    public static TrainConfig tiny(double dropout) {
        WrnConfig wrn = new WrnConfig(10, 1, dropout, 4, 3, 8, 8);
        OptimConfig optim = OptimConfig.paper().withSchedule(Schedule.CONSTANT);
        return new TrainConfig(wrn, optim, 8, 7L, "dl4j", "fp32", "synthetic");
    }

    /**
     * {@code n} images whose class is a fixed random template per class plus noise: learnable, yet not trivial.
     */
    public static Batch batch(TrainConfig config, int n, long seed) {
        WrnConfig w = config.wrn();
        int size = w.channels() * w.height() * w.width();
        Random templates = new Random(1234);
        float[][] template = new float[w.classes()][size];
        for (float[] t : template) for (int i = 0; i < size; i++) t[i] = (float) templates.nextGaussian();
        Random r = new Random(seed);
        float[] x = new float[n * size];
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            labels[i] = r.nextInt(w.classes());
            for (int j = 0; j < size; j++) x[i * size + j] = template[labels[i]][j] + 0.5f * (float) r.nextGaussian();
        }
        return new Batch(x, labels, w.channels(), w.height(), w.width());
    }

    /**
     * {@code n} images as uint8 pixels, as the augmenters hand them to the trainer: a random byte template per class
     * plus noise, clamped to 0..255 (learnable like {@link #batch}), normalised with the channels' normalisation.
     */
    public static PixelBatch pixelBatch(TrainConfig config, int n, long seed) {
        WrnConfig w = config.wrn();
        int size = w.channels() * w.height() * w.width();
        Random templates = new Random(4321);
        int[][] template = new int[w.classes()][size];
        for (int[] t : template) for (int i = 0; i < size; i++) t[i] = templates.nextInt(256);
        Random r = new Random(seed);
        byte[] px = new byte[n * size];
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            labels[i] = r.nextInt(w.classes());
            for (int j = 0; j < size; j++) px[i * size + j] = (byte) Math.max(0, Math.min(255, template[labels[i]][j] + (int) (40 * r.nextGaussian())));
        }
        return new PixelBatch(px, labels, w.channels(), w.height(), w.width(),
                io.wrnstream.model.augment.Normalization.forChannels(w.channels()));
    }
}
