package io.wrnstream.model.augment;

/**
 * Training-time augmentation: reflection padding, a random crop and an optional horizontal flip.
 *
 * @param pad reflection padding on every side, {@code >= 0} (the paper: 4); must be smaller than the image sides
 * @param flip whether to mirror horizontally with probability 0.5
 * @param cropHeight crop height, {@code >= 1}, or 0 for the input height (the paper)
 * @param cropWidth crop width, {@code >= 1}, or 0 for the input width (the paper)
 */
public record AugmentConfig(int pad, boolean flip, int cropHeight, int cropWidth) {

    public AugmentConfig {
        if (pad < 0) {
            throw new IllegalArgumentException("Invalid value " + pad + " for augment.pad: must be >= 0 (the paper uses 4)");
        }
        if (cropHeight < 0) {
            throw new IllegalArgumentException("Invalid value " + cropHeight
                    + " for augment.crop-height: must be >= 1, or 0 for the input height");
        }
        if (cropWidth < 0) {
            throw new IllegalArgumentException("Invalid value " + cropWidth
                    + " for augment.crop-width: must be >= 1, or 0 for the input width");
        }
    }

    /** The paper's augmentation: reflection pad 4, random crop back to the input size, flip with p = 0.5. */
    public static AugmentConfig paper() {
        return new AugmentConfig(4, true, 0, 0);
    }

    /** No augmentation: training sees the images as evaluation does (normalised only). */
    public static AugmentConfig none() {
        return new AugmentConfig(0, false, 0, 0);
    }

    /** Output height for an input of height {@code inputHeight}. */
    public int outputHeight(int inputHeight) {
        return cropHeight == 0 ? inputHeight : cropHeight;
    }

    /** Output width for an input of width {@code inputWidth}. */
    public int outputWidth(int inputWidth) {
        return cropWidth == 0 ? inputWidth : cropWidth;
    }
}
