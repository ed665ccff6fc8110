package io.wrnstream.model.data;

import java.util.List;
import java.util.Objects;

/**
 * One split of a dataset in memory: every sample has the same shape, ids run 0..N-1 in reading order and labels
 * index {@link #classNames()}.
 *
 * @param description where it came from and in which format, e.g. {@code cifar10-test-jpeg.zip (JPEG/PNG zip), test}
 * @param classNames class names by label index
 * @param channels channels per image
 * @param height image height
 * @param width image width
 * @param samples the samples, {@code samples.get(i).id() == i}
 * @param skipped corrupt entries skipped under {@link ReadOptions#skipCorrupt()}
 */
public record Dataset(String description, List<String> classNames, int channels, int height, int width,
                      List<Sample> samples, long skipped) {

    public Dataset {
        Objects.requireNonNull(description, "description");
        classNames = List.copyOf(classNames);
        samples = List.copyOf(samples);
        if (classNames.isEmpty()) throw new IllegalArgumentException("A dataset needs at least one class name");
        if (skipped < 0) throw new IllegalArgumentException("Invalid skipped count " + skipped + ": must be >= 0");
        for (int i = 0; i < samples.size(); i++) {
            Sample s = samples.get(i);
            if (s.id() != i) {
                throw new IllegalArgumentException("Sample at index " + i + " has id " + s.id() + ": ids must run 0..N-1");
            }
            if (s.channels() != channels || s.height() != height || s.width() != width) {
                throw new IllegalArgumentException("Sample " + i + " is " + s.channels() + "x" + s.height() + "x" + s.width()
                        + ", the dataset is " + channels + "x" + height + "x" + width);
            }
            if (s.label() >= classNames.size()) {
                throw new IllegalArgumentException("Sample " + i + " has label " + s.label() + " but the dataset has only "
                        + classNames.size() + " classes");
            }
        }
    }

    /** Number of samples. */
    public int size() {
        return samples.size();
    }

    /** Number of classes. */
    public int numClasses() {
        return classNames.size();
    }

    /** Count of samples per label index. */
    public int[] classCounts() {
        int[] counts = new int[classNames.size()];
        for (Sample s : samples) counts[s.label()]++;
        return counts;
    }
}
