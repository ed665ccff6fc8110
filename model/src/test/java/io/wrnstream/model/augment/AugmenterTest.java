package io.wrnstream.model.augment;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.wrnstream.model.data.Sample;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class AugmenterTest {

    /** Mean 0, std 1: outputs are x / 255, so source bytes can be read back. */
    private static final Normalization IDENTITY = new Normalization(new float[] {0, 0, 0}, new float[] {1, 1, 1});

    private static final Augmenter PAPER = new Augmenter(AugmentConfig.paper(), IDENTITY);

    private static int back(float v) {
        return Math.round(v * 255f);
    }

    /** 3x32x32 image whose channel 0 holds the row, channel 1 the column and channel 2 row+column. */
    private static Sample coordinates(long id) {
        byte[] p = new byte[3 * 32 * 32];
        for (int y = 0; y < 32; y++) {
            for (int x = 0; x < 32; x++) {
                p[y * 32 + x] = (byte) y;
                p[1024 + y * 32 + x] = (byte) x;
                p[2048 + y * 32 + x] = (byte) (y + x);
            }
        }
        return new Sample(id, 0, 3, 32, 32, p);
    }

    @Test
    void reflectionPaddingMatchesPyTorchOnAThreeByThreeExample() {
        // ReflectionPad2d(2) of [[1,2,3],[4,5,6],[7,8,9]], taken whole by a 7x7 crop (the only offset is 0,0).
        Augmenter a = new Augmenter(new AugmentConfig(2, false, 7, 7), new Normalization(new float[] {0}, new float[] {1}));
        Sample s = new Sample(0, 0, 1, 3, 3, new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9});
        float[] out = new float[49];

        a.train(s, 1, 0, out, 0);

        int[][] expected = {
            {9, 8, 7, 8, 9, 8, 7},
            {6, 5, 4, 5, 6, 5, 4},
            {3, 2, 1, 2, 3, 2, 1},
            {6, 5, 4, 5, 6, 5, 4},
            {9, 8, 7, 8, 9, 8, 7},
            {6, 5, 4, 5, 6, 5, 4},
            {3, 2, 1, 2, 3, 2, 1}};
        for (int y = 0; y < 7; y++) {
            for (int x = 0; x < 7; x++) assertThat(back(out[y * 7 + x])).as("(%d,%d)", y, x).isEqualTo(expected[y][x]);
        }
        assertThat(Augmenter.reflect(-1, 3)).isEqualTo(1);
        assertThat(Augmenter.reflect(3, 3)).isEqualTo(1);
        assertThat(Augmenter.reflect(4, 3)).isEqualTo(0);
    }

    @Test
    void everyOutputPixelIsTheReflectedSourceAtTheChosenOffset() {
        float[] out = new float[3 * 32 * 32];
        for (long id = 0; id < 200; id++) {
            Sample s = coordinates(id);
            Augmenter.Choice c = PAPER.choose(7, id, 3);
            PAPER.train(s, 7, 3, out, 0);
            for (int y = 0; y < 32; y++) {
                for (int x = 0; x < 32; x++) {
                    int sy = Augmenter.reflect(y + c.dy() - 4, 32);
                    int sx = Augmenter.reflect((c.flip() ? 31 - x : x) + c.dx() - 4, 32);
                    assertThat(back(out[y * 32 + x])).isEqualTo(sy);
                    assertThat(back(out[1024 + y * 32 + x])).isEqualTo(sx);
                    assertThat(back(out[2048 + y * 32 + x])).isEqualTo(sy + sx);
                }
            }
        }
    }

    @Test
    void constantImageGivesTheNormalisedConstantEverywhere() {
        Augmenter a = new Augmenter(AugmentConfig.paper(), Normalization.CIFAR10);
        byte[] p = new byte[3 * 32 * 32];
        Arrays.fill(p, 0, 1024, (byte) 10);
        Arrays.fill(p, 1024, 2048, (byte) 128);
        Arrays.fill(p, 2048, 3072, (byte) 250);
        float[] out = new float[3072];
        for (long id = 0; id < 100; id++) {
            a.train(new Sample(id, 1, 3, 32, 32, p), 99, id % 7, out, 0);
            for (int c = 0; c < 3; c++) {
                float expected = (p[c * 1024] & 0xFF) / 255f;
                expected = (expected - Normalization.CIFAR10.mean()[c]) / Normalization.CIFAR10.std()[c];
                for (int i = 0; i < 1024; i++) assertThat(out[c * 1024 + i]).isEqualTo(expected);
            }
        }
    }

    @Test
    void flipMirrorsTheCrop() {
        Augmenter flipOnly = new Augmenter(new AugmentConfig(0, true, 0, 0), IDENTITY);
        Sample s = coordinates(0);
        float[] out = new float[3072];
        int flipped = 0;
        for (long id = 0; id < 50; id++) {
            Sample si = new Sample(id, 0, 3, 32, 32, s.pixels());
            Augmenter.Choice c = flipOnly.choose(5, id, 0);
            flipOnly.train(si, 5, 0, out, 0);
            assertThat(c.dx()).isZero();
            assertThat(c.dy()).isZero();
            for (int x = 0; x < 32; x++) assertThat(back(out[1024 + 5 * 32 + x])).isEqualTo(c.flip() ? 31 - x : x);
            if (c.flip()) flipped++;
        }
        assertThat(flipped).isBetween(10, 40);
    }

    @Test
    void flipHappensAboutHalfTheTime() {
        int flips = 0;
        int n = 20_000;
        for (long id = 0; id < n; id++) if (PAPER.choose(123, id, 4).flip()) flips++;
        assertThat(flips / (double) n).isBetween(0.48, 0.52);
        assertThat(new Augmenter(new AugmentConfig(4, false, 0, 0), IDENTITY).choose(123, 1, 4).flip()).isFalse();
    }

    @Test
    void cropOffsetsCoverAllNineByNinePositionsUniformly() {
        int[] counts = new int[81];
        int n = 81_000;
        for (long id = 0; id < n; id++) {
            Augmenter.Choice c = PAPER.choose(2024, id, 0);
            assertThat(c.dx()).isBetween(0, 8);
            assertThat(c.dy()).isBetween(0, 8);
            counts[c.dy() * 9 + c.dx()]++;
        }
        // 1000 expected per cell, standard deviation about 32.
        assertThat(Arrays.stream(counts).min().getAsInt()).isGreaterThanOrEqualTo(850);
        assertThat(Arrays.stream(counts).max().getAsInt()).isLessThanOrEqualTo(1150);
    }

    @Test
    void choicesAreAPureFunctionOfSeedIdAndEpoch() {
        Sample s = coordinates(17);
        float[] a = new float[3072];
        float[] b = new float[3072];
        PAPER.train(s, 42, 5, a, 0);
        new Augmenter(AugmentConfig.paper(), IDENTITY).train(s, 42, 5, b, 0);
        assertThat(b).isEqualTo(a);
        assertThat(PAPER.choose(42, 17, 5)).isEqualTo(PAPER.choose(42, 17, 5));

        int epochDiffers = 0;
        int seedDiffers = 0;
        Set<Augmenter.Choice> acrossEpochs = new HashSet<>();
        for (long id = 0; id < 200; id++) {
            if (!PAPER.choose(42, id, 0).equals(PAPER.choose(42, id, 1))) epochDiffers++;
            if (!PAPER.choose(42, id, 0).equals(PAPER.choose(43, id, 0))) seedDiffers++;
        }
        for (long epoch = 0; epoch < 200; epoch++) acrossEpochs.add(PAPER.choose(42, 3, epoch));
        assertThat(epochDiffers).isGreaterThan(190);
        assertThat(seedDiffers).isGreaterThan(190);
        assertThat(acrossEpochs.size()).isGreaterThan(60);
    }

    @Test
    void evalIsNormalisationOnly() {
        Sample s = new Sample(3, 2, 3, 32, 32, new byte[3072]);
        new Random(1).nextBytes(s.pixels());
        Augmenter a = new Augmenter(AugmentConfig.paper(), Normalization.CIFAR10);
        float[] out = new float[3072 + 10];

        a.eval(s, out, 10);

        for (int c = 0; c < 3; c++) {
            for (int y = 0; y < 32; y++) {
                for (int x = 0; x < 32; x++) {
                    assertThat(out[10 + (c * 32 + y) * 32 + x]).isEqualTo(Normalization.CIFAR10.apply(c, s.pixel(c, y, x)));
                }
            }
        }
    }

    @Test
    void explicitCropsCentreInEvalAndStayInsideInTraining() {
        Augmenter a = new Augmenter(new AugmentConfig(2, true, 28, 30), IDENTITY);
        Sample s = coordinates(0);
        float[] out = new float[3 * 28 * 30];
        assertThat(a.outputSize(3, 32, 32)).isEqualTo(3 * 28 * 30);

        a.eval(s, out, 0);
        assertThat(back(out[0])).isEqualTo(2); // row offset (32 + 4 - 28) / 2 - 2 = 2
        assertThat(back(out[28 * 30])).isEqualTo(1); // column offset (32 + 4 - 30) / 2 - 2 = 1

        for (long id = 0; id < 500; id++) {
            Augmenter.Choice c = a.choose(1, id, 0, 32, 32);
            assertThat(c.dy()).isBetween(0, 8);
            assertThat(c.dx()).isBetween(0, 6);
        }
        assertThatThrownBy(() -> a.choose(1, 0, 0))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageStartingWith("augment.crop-height/crop-width are set explicitly");
    }

    @Test
    void rejectsSamplesThatDoNotFit() {
        float[] out = new float[3072];
        assertThatThrownBy(() -> PAPER.train(new Sample(1, 0, 1, 32, 32, new byte[1024]), 0, 0, out, 0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Sample 1 has 1 channels but the normalization has 3");
        assertThatThrownBy(() -> PAPER.train(new Sample(2, 0, 3, 4, 8, new byte[96]), 0, 0, out, 0))
                .hasMessage("Invalid value 4 for augment.pad with 4x8 images: reflection padding needs pad < height and pad < width");
        assertThatThrownBy(() -> new Augmenter(new AugmentConfig(1, false, 40, 0), IDENTITY).eval(coordinates(0), out, 0))
                .hasMessage("Invalid crop 40x32 for augment.crop-height/crop-width: larger than the 34x34 padded image");
        assertThatThrownBy(() -> PAPER.train(coordinates(0), 0, 0, out, 1))
                .hasMessage("Destination of 3072 floats has no room for 3072 floats at offset 1");
    }

    @Test
    void augmentsFiftyThousandCifarImagesInAFewSeconds() {
        Sample s = coordinates(0);
        float[] out = new float[3072];
        long start = System.nanoTime();
        for (long id = 0; id < 50_000; id++) PAPER.train(new Sample(id, 0, 3, 32, 32, s.pixels()), 1, 0, out, 0);
        double seconds = (System.nanoTime() - start) / 1e9;
        System.out.printf("Augmented 50000 3x32x32 images in %.3f s (%.0f images/s)%n", seconds, 50_000 / seconds);
        assertThat(seconds).isLessThan(10);
    }

    @Test
    void bytesNormalisedLaterAreBitIdenticalToTheFloatPath() {
        int n = 20;
        byte[] pixels = new byte[n * 3072];
        float[] floats = new float[n * 3072];
        int[] labels = new int[n];
        Augmenter cifar = Augmenter.paper(3);
        for (int i = 0; i < n; i++) {
            byte[] p = new byte[3072];
            new Random(i).nextBytes(p);
            Sample s = new Sample(i, 0, 3, 32, 32, p);
            cifar.trainPixels(s, 42, i % 3, pixels, i * 3072);
            cifar.train(s, 42, i % 3, floats, i * 3072);
        }
        io.wrnstream.model.engine.Batch b = new io.wrnstream.model.engine.PixelBatch(pixels, labels, 3, 32, 32, cifar.normalization()).toBatch();
        assertThat(b.x()).containsExactly(floats);
        assertThatThrownBy(() -> new io.wrnstream.model.engine.PixelBatch(new byte[10], new int[1], 3, 32, 32, PAPER.normalization()))
                .hasMessage("Batch of 1 images of 3x32x32 needs 3072 bytes, got 10");
        assertThatThrownBy(() -> new io.wrnstream.model.engine.PixelBatch(new byte[1024], new int[1], 1, 32, 32, PAPER.normalization()))
                .hasMessage("Batch of 1-channel images with a normalization of 3 channels");
    }
}
