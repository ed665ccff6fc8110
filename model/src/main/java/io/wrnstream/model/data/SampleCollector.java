package io.wrnstream.model.data;

import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Gathers the samples of one read in order: numbers them, enforces one shape (the expected one, else the first
 * image's), applies the limit and either fails on or counts corrupt entries.
 */
final class SampleCollector {

    private static final Logger LOG = LoggerFactory.getLogger(SampleCollector.class);

    private final ReadOptions options;
    private final List<Sample> samples = new ArrayList<>();
    private long skipped;
    private String firstSkipped;
    private int channels;
    private int height;
    private int width;
    private String shapeSource;

    SampleCollector(ReadOptions options) {
        this.options = options;
        this.channels = options.expectedChannels();
        this.height = options.expectedHeight();
        this.width = options.expectedWidth();
    }

    /** Whether the limit still allows more samples. */
    boolean wantsMore() {
        return samples.size() < options.limit();
    }

    /** Samples still wanted before the limit is reached. */
    int remaining() {
        return options.limit() - samples.size();
    }

    /** Adds one image; a shape that differs from the expected or earlier images is a corrupt entry. */
    void accept(String location, int label, int c, int h, int w, byte[] pixels) throws CorruptDataException {
        if ((channels != 0 && c != channels) || (height != 0 && h != height) || (width != 0 && w != width)) {
            String want = (channels == 0 ? "*" : channels) + "x" + (height == 0 ? "*" : height) + "x" + (width == 0 ? "*" : width);
            String why = shapeSource == null ? "the expected shape" : "the shape of " + shapeSource;
            corrupt(location, "image is " + c + "x" + h + "x" + w + " (CxHxW), expected " + want + " (" + why + ")", null);
            return;
        }
        if (shapeSource == null) {
            shapeSource = location;
            channels = c;
            height = h;
            width = w;
        }
        samples.add(new Sample(samples.size(), label, c, h, w, pixels));
    }

    /** Skips a corrupt entry under {@code skipCorrupt}, otherwise fails naming it. */
    void corrupt(String location, String reason, Throwable cause) throws CorruptDataException {
        if (!options.skipCorrupt()) throw new CorruptDataException(location, reason, cause);
        if (firstSkipped == null) firstSkipped = location + ": " + reason;
        skipped++;
    }

    /** The finished dataset; fails when nothing was read. */
    Dataset build(String description, List<String> classNames) throws CorruptDataException {
        if (skipped > 0) {
            // Logged once with the count rather than per entry: a bad archive would otherwise flood the log.
            LOG.warn("Skipped {} corrupt entries while reading {} (first: {})", skipped, description, firstSkipped);
        }
        if (samples.isEmpty()) {
            throw new CorruptDataException(description, "no readable images"
                    + (skipped > 0 ? " (" + skipped + " corrupt entries skipped, first: " + firstSkipped + ")" : ""));
        }
        return new Dataset(description, classNames, channels, height, width, samples, skipped);
    }
}
