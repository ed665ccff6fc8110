package io.wrnstream.jobs.augment;

import io.wrnstream.jobs.decode.LabelledImage;
import io.wrnstream.model.augment.AugmentConfig;
import io.wrnstream.model.augment.Augmenter;
import io.wrnstream.model.augment.Normalization;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.RichMapFunction;

/**
 * Applies the paper's training augmentation (reflect-pad 4, random 32x32 crop, random horizontal flip) on the bytes; the
 * dataset normalisation happens in the trainer's engine, so a quarter of the bytes travels to the trainer. The random choices are a pure function of (seed, sample id, record epoch), so this stage
 * is stateless, runs at any parallelism and reproduces the same pixels when the stream is replayed after a failure.
 */
public final class AugmentFunction extends RichMapFunction<LabelledImage, AugmentedImage> {
    private static final long serialVersionUID = 1L;

    private final long seed;
    private transient Augmenter augmenter;

    /** Augments with generators derived from {@code seed}. */
    public AugmentFunction(long seed) {
        this.seed = seed;
    }

    @Override
    public void open(OpenContext ctx) {
        augmenter = null; // built on the first image, when its channel count is known
    }

    @Override
    public AugmentedImage map(LabelledImage in) {
        if (augmenter == null || augmenter.normalization().channels() != in.channels()) augmenter = Augmenter.paper(in.channels());
        byte[] px = new byte[augmenter.outputSize(in.channels(), in.height(), in.width())];
        augmenter.trainPixels(in.toSample(), seed, in.epoch(), px, 0);
        return new AugmentedImage(in.id(), in.epoch(), in.label(), px);
    }
}
