package io.wrnstream.jobs.augment;

import java.util.Arrays;
import java.util.Objects;

/**
 * A training image after augmentation (pad, crop, flip), not yet normalised: uint8 pixels, CHW, a quarter of the bytes
 * of the normalised floats. The trainer's engine normalises the minibatch ({@link io.wrnstream.model.engine.PixelBatch}).
 *
 * @param id sample id
 * @param epoch ingest pass the augmentation was drawn for
 * @param label class index
 * @param pixels augmented pixels (0..255), CHW
 */
public record AugmentedImage(long id, int epoch, int label, byte[] pixels) {

    @Override
    public boolean equals(Object o) {
        return o instanceof AugmentedImage a && id == a.id && epoch == a.epoch && label == a.label && Arrays.equals(pixels, a.pixels);
    }

    @Override
    public int hashCode() {
        return Objects.hash(id, epoch, label) * 31 + Arrays.hashCode(pixels);
    }

    @Override
    public String toString() {
        return "AugmentedImage[id=" + id + ", epoch=" + epoch + ", label=" + label + ", " + pixels.length + " bytes]";
    }
}
