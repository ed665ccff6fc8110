package io.wrnstream.model.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.ZipFile;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Reads the shared CIFAR-10 JPEG zips (system property {@code wrn.datasets}); skipped when they are absent. */
class SharedCifar10JpegTest {

    private static Path folder;

    @BeforeAll
    static void locate() {
        String root = System.getProperty("wrn.datasets", "../shared/datasets");
        folder = Path.of(root, "cifar10-jpeg");
    }

    private static void assumeZip(String name) {
        assumeTrue(Files.isRegularFile(folder.resolve(name)),
                "Shared dataset " + folder.resolve(name) + " is absent (set -Dwrn.datasets); skipping");
    }

    @Test
    void testSplitHasAThousandPerClassInCifarOrderAndMatchesImageIo() throws IOException {
        assumeZip("cifar10-test-jpeg.zip");

        Dataset d = Datasets.open(folder, Split.TEST, ReadOptions.defaults());

        assertThat(d.size()).isEqualTo(10_000);
        assertThat(d.classNames()).isEqualTo(Datasets.CIFAR10_CLASSES);
        assertThat(d.classCounts()).containsOnly(1000);
        assertThat(d.channels() * 100 + d.height() * 10 + d.width()).isEqualTo(3 * 100 + 32 * 10 + 32);
        assertThat(d.samples().get(0).label()).isZero();
        assertThat(d.samples().get(9999).label()).isEqualTo(9);

        // test/airplane/0000.jpg is sample 0 and test/cat/0003.jpg sample 3003; decode both independently with ImageIO.
        assertMatchesImageIo(d.samples().get(0), "test/airplane/0000.jpg");
        assertMatchesImageIo(d.samples().get(3003), "test/cat/0003.jpg");
    }

    private static void assertMatchesImageIo(Sample s, String entry) throws IOException {
        BufferedImage img;
        try (ZipFile zip = new ZipFile(folder.resolve("cifar10-test-jpeg.zip").toFile());
             InputStream in = zip.getInputStream(zip.getEntry(entry))) {
            img = ImageIO.read(in);
        }
        assertThat(img.getWidth()).isEqualTo(32);
        for (int[] yx : new int[][] {{0, 0}, {0, 31}, {15, 16}, {31, 0}, {31, 31}}) {
            int rgb = img.getRGB(yx[1], yx[0]);
            assertThat(new int[] {s.pixel(0, yx[0], yx[1]), s.pixel(1, yx[0], yx[1]), s.pixel(2, yx[0], yx[1])})
                    .as("%s pixel (y=%d, x=%d)", entry, yx[0], yx[1])
                    .containsExactly((rgb >> 16) & 0xFF, (rgb >> 8) & 0xFF, rgb & 0xFF);
        }
    }

    @Test
    void trainSplitHasFiftyThousandImagesDecodedQuickly() throws IOException {
        assumeZip("cifar10-train-jpeg.zip");

        long start = System.nanoTime();
        Dataset d = Datasets.open(folder, Split.TRAIN, ReadOptions.defaults());
        double seconds = (System.nanoTime() - start) / 1e9;
        System.out.printf("Decoded %d training JPEGs in %.2f s (%.0f images/s) on %d cores%n",
                d.size(), seconds, d.size() / seconds, Runtime.getRuntime().availableProcessors());

        assertThat(d.size()).isEqualTo(50_000);
        assertThat(d.classCounts()).containsOnly(5000);
        assertThat(d.skipped()).isZero();
        assertThat(d.description()).isEqualTo("cifar10-train-jpeg.zip (JPEG/PNG zip), train");
    }
}
