package io.wrnstream.jobs.decode;

import io.wrnstream.model.data.Sample;
import java.util.Arrays;
import java.util.Objects;

/**
 * A decoded, validated training image: the {@link Sample} fields plus the ingest pass ({@code epoch}) the record
 * carried, which augmentation uses so that a replay reproduces the same crops and flips.
 *
 * @param id sample id
 * @param epoch ingest pass of the record
 * @param label class index
 * @param channels channels
 * @param height height
 * @param width width
 * @param pixels CHW uint8 pixels
 */
public record LabelledImage(long id, int epoch, int label, int channels, int height, int width, byte[] pixels) {

    /** Wraps a decoded sample with the record's epoch. */
    public static LabelledImage of(Sample s, int epoch) {
        return new LabelledImage(s.id(), epoch, s.label(), s.channels(), s.height(), s.width(), s.pixels());
    }

    /** The sample (shares the pixel array). */
    public Sample toSample() {
        return new Sample(id, label, channels, height, width, pixels);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof LabelledImage l && id == l.id && epoch == l.epoch && label == l.label && channels == l.channels
                && height == l.height && width == l.width && Arrays.equals(pixels, l.pixels);
    }

    @Override
    public int hashCode() {
        return Objects.hash(id, epoch, label);
    }

    @Override
    public String toString() {
        return "LabelledImage[id=" + id + ", epoch=" + epoch + ", label=" + label + ", " + channels + "x" + height + "x" + width + "]";
    }
}
