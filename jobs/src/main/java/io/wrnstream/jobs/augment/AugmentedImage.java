package io.wrnstream.jobs.augment;

import java.util.Arrays;
import java.util.Objects;

/**
 * A training image after augmentation and normalisation, ready to be copied into a minibatch.
 *
 * @param id sample id
 * @param epoch ingest pass the augmentation was drawn for
 * @param label class index
 * @param x normalised floats, CHW
 */
public record AugmentedImage(long id, int epoch, int label, float[] x) {

    @Override
    public boolean equals(Object o) {
        return o instanceof AugmentedImage a && id == a.id && epoch == a.epoch && label == a.label && Arrays.equals(x, a.x);
    }

    @Override
    public int hashCode() {
        return Objects.hash(id, epoch, label) * 31 + Arrays.hashCode(x);
    }

    @Override
    public String toString() {
        return "AugmentedImage[id=" + id + ", epoch=" + epoch + ", label=" + label + ", " + x.length + " floats]";
    }
}
