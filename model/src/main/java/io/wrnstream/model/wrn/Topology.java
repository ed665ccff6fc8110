package io.wrnstream.model.wrn;

import java.util.ArrayList;
import java.util.List;

/**
 * The one description of a WRN's structure, as the paper draws it (Zagoruyko and Komodakis, 2016, table 1):
 * a 3x3 stem convolution to 16 channels, three groups {@code conv2..conv4} of {@code n = (d-4)/6} pre-activation
 * blocks of widths 16k, 32k and 64k (the first block of groups 2 and 3 halves the resolution), then BN-ReLU, global
 * average pooling and the classifier. Every user iterates this data: the DL4J graph, the libtorch forward pass, the
 * canonical parameter layout and the parameter count. Nothing else spells the network out.
 *
 * <pre>{@code
 * for (Topology.Group g : Topology.of(wrn).groups())
 *     for (Topology.Block b : g.blocks())
 *         build(b.name(), b.in(), b.out(), b.stride(), b.projection());
 * }</pre>
 *
 * @param stemIn input channels of the stem convolution
 * @param stemOut output channels of the stem convolution (16)
 * @param groups the three groups, in order
 * @param features channels entering the classifier (64k)
 * @param classes classifier outputs
 */
public record Topology(int stemIn, int stemOut, List<Group> groups, int features, int classes) {

    /** Name of the stem convolution. */
    public static final String STEM = "stem.conv";
    /** Name of the final BatchNorm (before pooling and the classifier). */
    public static final String HEAD = "head";

    /**
     * One pre-activation block: BN-ReLU, conv3x3 (stride), BN-ReLU, dropout, conv3x3, plus a shortcut that is the
     * identity or, when width or resolution change, a 1x1 projection of the first BN-ReLU's output.
     *
     * @param name generated name, {@code g<group>.b<index>} (for example {@code g2.b0})
     * @param in input channels
     * @param out output channels
     * @param stride stride of the first convolution and of the projection (1 or 2)
     * @param projection whether the shortcut is a 1x1 convolution ({@code in != out || stride != 1})
     */
    public record Block(String name, int in, int out, int stride, boolean projection) {}

    /**
     * One group of blocks of the same width; the first block changes the width and applies the group's stride.
     *
     * @param name generated name, {@code g1}, {@code g2}, {@code g3}
     * @param width output channels of every block
     * @param stride stride of the first block (1 for g1, 2 for g2 and g3)
     * @param blocks the blocks, in order
     */
    public record Group(String name, int width, int stride, List<Block> blocks) {}

    public Topology {
        groups = List.copyOf(groups);
    }

    /** The topology of {@code wrn}. */
    public static Topology of(WrnConfig wrn) {
        int[] widths = wrn.widths();
        List<Group> groups = new ArrayList<>(3);
        int in = widths[0];
        for (int g = 1; g <= 3; g++) {
            int out = widths[g];
            int stride = g == 1 ? 1 : 2;
            List<Block> blocks = new ArrayList<>(wrn.blocksPerGroup());
            for (int k = 0; k < wrn.blocksPerGroup(); k++) {
                int s = k == 0 ? stride : 1;
                blocks.add(new Block("g" + g + ".b" + k, in, out, s, in != out || s != 1));
                in = out;
            }
            groups.add(new Group("g" + g, out, stride, blocks));
        }
        return new Topology(wrn.channels(), widths[0], groups, in, wrn.classes());
    }

    /** Every block of every group, in order. */
    public List<Block> blocks() {
        List<Block> all = new ArrayList<>();
        for (Group g : groups) all.addAll(g.blocks());
        return all;
    }

    /**
     * Trainable parameters: convolution weights without bias, BatchNorm gamma and beta, classifier weights and bias
     * (BatchNorm's running statistics are not trainable).
     */
    public long trainableParameters() {
        long p = 9L * stemIn * stemOut;                                         // stem conv3x3
        for (Block b : blocks()) {
            p += 2L * b.in() + 9L * b.in() * b.out() + 2L * b.out() + 9L * b.out() * b.out(); // bn1, conv1, bn2, conv2
            if (b.projection()) p += (long) b.in() * b.out();                   // 1x1 shortcut
        }
        return p + 2L * features + (long) features * classes + classes;        // head bn, classifier
    }
}
