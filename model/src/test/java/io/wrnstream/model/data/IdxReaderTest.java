package io.wrnstream.model.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IdxReaderTest {

    @TempDir
    Path dir;

    private static byte[] images(int magic, int n, int rows, int cols, byte[] data) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(b);
        out.writeInt(magic);
        out.writeInt(n);
        out.writeInt(rows);
        out.writeInt(cols);
        out.write(data);
        return b.toByteArray();
    }

    private static byte[] labels(int magic, byte[] labels) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(b);
        out.writeInt(magic);
        out.writeInt(labels.length);
        out.write(labels);
        return b.toByteArray();
    }

    private static void write(Path p, byte[] data, boolean gzip) throws IOException {
        try (OutputStream os = Files.newOutputStream(p); OutputStream out = gzip ? new GZIPOutputStream(os) : os) {
            out.write(data);
        }
    }

    private byte[][] writeSplit(String prefix, boolean gzip, int n) throws IOException {
        Random r = new Random(prefix.hashCode() + n);
        byte[] pixels = TestImages.randomPixels(r, n, 28, 28);
        byte[] lab = new byte[n];
        for (int i = 0; i < n; i++) lab[i] = (byte) r.nextInt(10);
        String ext = gzip ? ".gz" : "";
        write(dir.resolve(prefix + "-images-idx3-ubyte" + ext), images(IdxReader.IMAGES_MAGIC, n, 28, 28, pixels), gzip);
        write(dir.resolve(prefix + "-labels-idx1-ubyte" + ext), labels(IdxReader.LABELS_MAGIC, lab), gzip);
        return new byte[][] {pixels, lab};
    }

    private static void assertRoundTrip(Dataset d, byte[][] written) {
        int n = written[1].length;
        assertThat(d.size()).isEqualTo(n);
        assertThat(d.channels()).isEqualTo(1);
        assertThat(d.height()).isEqualTo(28);
        assertThat(d.width()).isEqualTo(28);
        for (int i = 0; i < n; i++) {
            Sample s = d.samples().get(i);
            assertThat(s.id()).isEqualTo(i);
            assertThat(s.label()).isEqualTo(written[1][i]);
            assertThat(s.pixels()).isEqualTo(Arrays.copyOfRange(written[0], i * 784, (i + 1) * 784));
        }
    }

    @Test
    void readsGzippedTrainSplit() throws IOException {
        byte[][] train = writeSplit("train", true, 12);
        writeSplit("t10k", true, 3);

        assertRoundTrip(Datasets.open(dir, Split.TRAIN, ReadOptions.defaults()), train);
    }

    @Test
    void readsPlainTestSplitWithFashionNamesInAFashionFolder() throws IOException {
        dir = Files.createDirectories(dir.resolve("fashion-mnist"));
        byte[][] test = writeSplit("t10k", false, 5);

        Dataset d = Datasets.open(dir, Split.TEST, ReadOptions.defaults());

        assertRoundTrip(d, test);
        assertThat(d.classNames()).isEqualTo(Datasets.FASHION_MNIST_CLASSES);
        assertThat(d.description()).contains("Fashion-MNIST IDX");
    }

    @Test
    void badMagicNumberIsAnErrorNamingTheFile() throws IOException {
        write(dir.resolve("t10k-images-idx3-ubyte.gz"), images(0x00000801, 1, 28, 28, new byte[784]), true);
        write(dir.resolve("t10k-labels-idx1-ubyte.gz"), labels(IdxReader.LABELS_MAGIC, new byte[1]), true);

        assertThatThrownBy(() -> Datasets.open(dir, Split.TEST, ReadOptions.defaults()))
                .isInstanceOf(CorruptDataException.class)
                .hasMessage("t10k-images-idx3-ubyte.gz: bad magic number 0x00000801, expected 0x00000803"
                        + " (IDX unsigned bytes, images, 3 dimensions)");
    }

    @Test
    void countMismatchBetweenImagesAndLabelsIsAnError() throws IOException {
        write(dir.resolve("t10k-images-idx3-ubyte"), images(IdxReader.IMAGES_MAGIC, 2, 28, 28, new byte[2 * 784]), false);
        write(dir.resolve("t10k-labels-idx1-ubyte"), labels(IdxReader.LABELS_MAGIC, new byte[3]), false);

        assertThatThrownBy(() -> Datasets.open(dir, Split.TEST, ReadOptions.defaults()))
                .hasMessage("t10k-images-idx3-ubyte: holds 2 images but t10k-labels-idx1-ubyte holds 3 labels");
    }

    @Test
    void truncatedImageIsNamedOrSkippedAndCounted() throws IOException {
        write(dir.resolve("t10k-images-idx3-ubyte"), images(IdxReader.IMAGES_MAGIC, 3, 28, 28, new byte[2 * 784 + 100]), false);
        write(dir.resolve("t10k-labels-idx1-ubyte"), labels(IdxReader.LABELS_MAGIC, new byte[] {1, 2, 3}), false);

        assertThatThrownBy(() -> Datasets.open(dir, Split.TEST, ReadOptions.defaults()))
                .hasMessage("t10k-images-idx3-ubyte: image 2 is truncated (100 of 784 bytes)");
        Dataset d = Datasets.open(dir, Split.TEST, ReadOptions.defaults().withSkipCorrupt(true));
        assertThat(d.size()).isEqualTo(2);
        assertThat(d.skipped()).isEqualTo(1);
    }

    @Test
    void missingLabelsFileIsNamed() throws IOException {
        write(dir.resolve("train-images-idx3-ubyte.gz"), images(IdxReader.IMAGES_MAGIC, 1, 28, 28, new byte[784]), true);

        assertThatThrownBy(() -> Datasets.open(dir, Split.TRAIN, ReadOptions.defaults()))
                .hasMessageEndingWith("has train-images-idx3-ubyte.gz but no matching train-labels-idx1-ubyte(.gz)");
    }
}
