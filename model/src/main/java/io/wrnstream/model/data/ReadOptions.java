package io.wrnstream.model.data;

/**
 * How a dataset is read.
 *
 * <pre>{@code
 * ReadOptions.defaults().withLimit(1000).withExpectedShape(3, 32, 32)
 * }</pre>
 *
 * @param skipCorrupt skip undecodable, truncated or mis-sized entries (counted in {@link Dataset#skipped()} and
 *     logged once) instead of failing on the first one; default {@code false}
 * @param limit read at most this many samples, {@code >= 1}; default {@link #UNLIMITED}
 * @param expectedChannels required channels per image, or 0 for "whatever the data holds"
 * @param expectedHeight required image height, or 0 for any
 * @param expectedWidth required image width, or 0 for any
 */
public record ReadOptions(boolean skipCorrupt, int limit, int expectedChannels, int expectedHeight, int expectedWidth) {

    /** The {@link #limit} that means "read everything". */
    public static final int UNLIMITED = Integer.MAX_VALUE;

    public ReadOptions {
        if (limit < 1) {
            throw new IllegalArgumentException("Invalid value " + limit + " for read.limit: must be >= 1 (or unlimited)");
        }
        check("read.expected-channels", expectedChannels);
        check("read.expected-height", expectedHeight);
        check("read.expected-width", expectedWidth);
    }

    private static void check(String name, int value) {
        if (value < 0) {
            throw new IllegalArgumentException("Invalid value " + value + " for " + name + ": must be >= 1, or 0 for any");
        }
    }

    /** Fail on corrupt entries, no limit, any shape (as long as every image has the same one). */
    public static ReadOptions defaults() {
        return new ReadOptions(false, UNLIMITED, 0, 0, 0);
    }

    /** A copy with {@link #skipCorrupt} set. */
    public ReadOptions withSkipCorrupt(boolean skip) {
        return new ReadOptions(skip, limit, expectedChannels, expectedHeight, expectedWidth);
    }

    /** A copy reading at most {@code max} samples. */
    public ReadOptions withLimit(int max) {
        return new ReadOptions(skipCorrupt, max, expectedChannels, expectedHeight, expectedWidth);
    }

    /** A copy that requires every image to be {@code channels x height x width} (0 leaves a dimension free). */
    public ReadOptions withExpectedShape(int channels, int height, int width) {
        return new ReadOptions(skipCorrupt, limit, channels, height, width);
    }
}
