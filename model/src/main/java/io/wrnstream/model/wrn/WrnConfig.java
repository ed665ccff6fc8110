package io.wrnstream.model.wrn;

/**
 * Shape of a Wide Residual Network WRN-d-k (Zagoruyko and Komodakis, 2016) and of its input and output.
 *
 * <p>The depth counts the convolutions plus the classifier: {@code d = 6n + 4} with {@code n} blocks per group,
 * so the valid depths are 10, 16, 22, 28, 34, 40, ... Widths are {16, 16k, 32k, 64k}.
 *
 * @param depth network depth d, of the form 6n+4
 * @param widen widening factor k, {@code >= 1}
 * @param dropout probability of dropping a unit between the two convolutions of a block, in [0, 1)
 * @param classes number of output classes, {@code >= 2}
 * @param channels input channels, {@code >= 1}
 * @param height input height, {@code >= 8} (two stride-2 groups)
 * @param width input width, {@code >= 8}
 */
public record WrnConfig(int depth, int widen, double dropout, int classes, int channels, int height, int width) {

    public WrnConfig {
        if (depth < 10 || (depth - 4) % 6 != 0) {
            throw new IllegalArgumentException("Invalid value " + depth + " for wrn.depth: must be 6n+4 with n >= 1 (10, 16, 22, 28, 34, 40, ...)");
        }
        if (widen < 1) {
            throw new IllegalArgumentException("Invalid value " + widen + " for wrn.widen: must be an integer >= 1");
        }
        if (!(dropout >= 0.0 && dropout < 1.0)) {
            throw new IllegalArgumentException("Invalid value " + dropout + " for wrn.dropout: must be a drop probability in [0, 1)");
        }
        if (classes < 2) {
            throw new IllegalArgumentException("Invalid value " + classes + " for wrn.classes: must be >= 2");
        }
        if (channels < 1) {
            throw new IllegalArgumentException("Invalid value " + channels + " for wrn.channels: must be >= 1");
        }
        if (height < 8) {
            throw new IllegalArgumentException("Invalid value " + height + " for wrn.height: must be >= 8 (the network halves it twice)");
        }
        if (width < 8) {
            throw new IllegalArgumentException("Invalid value " + width + " for wrn.width: must be >= 8 (the network halves it twice)");
        }
    }

    /** Blocks per group, {@code n = (d - 4) / 6}. */
    public int blocksPerGroup() {
        return (depth - 4) / 6;
    }

    /** Channel widths {16, 16k, 32k, 64k}: the stem, then the three groups. */
    public int[] widths() {
        return new int[] {16, 16 * widen, 32 * widen, 64 * widen};
    }

    /**
     * Trainable parameters of this network computed from the architecture alone (conv weights without bias,
     * BatchNorm gamma and beta, dense weights and bias; BatchNorm running statistics are not trainable).
     * The DL4J graph must agree with this count exactly; the reference implementation gives WRN-40-1 563,930,
     * WRN-16-4 2,748,890 and WRN-28-10 36,479,194.
     */
    public long trainableParameters() {
        return topology().trainableParameters();
    }

    /** The network's structure as data: stem, groups of blocks, head ({@link Topology}). */
    public Topology topology() {
        return Topology.of(this);
    }

    /** The model's short name, {@code wrn-d-k}. */
    public String name() {
        return "wrn-" + depth + "-" + widen;
    }

    /** WRN-d-k for CIFAR-10 (3x32x32, 10 classes), no dropout. */
    public static WrnConfig cifar10(int depth, int widen) {
        return new WrnConfig(depth, widen, 0.0, 10, 3, 32, 32);
    }

    /** This config with another dropout rate. */
    public WrnConfig withDropout(double p) {
        return new WrnConfig(depth, widen, p, classes, channels, height, width);
    }

    /** This config for another input shape and class count. */
    public WrnConfig withInput(int channels, int height, int width, int classes) {
        return new WrnConfig(depth, widen, dropout, classes, channels, height, width);
    }

    /**
     * Parses a model spec {@code wrn-D-K} (case-insensitive), for example {@code wrn-16-4}, for CIFAR-10 input.
     *
     * @throws IllegalArgumentException naming the spec and the allowed form
     */
    public static WrnConfig parse(String spec) {
        String s = spec == null ? "" : spec.trim().toLowerCase(java.util.Locale.ROOT);
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("wrn-(\\d{1,4})-(\\d{1,3})").matcher(s);
        if (!m.matches()) {
            throw new IllegalArgumentException("Invalid value '" + spec + "' for model: must be wrn-D-K with D = 6n+4 and K >= 1, e.g. wrn-16-4, wrn-28-10");
        }
        return cifar10(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)));
    }
}
