package io.wrnstream.model.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageArchiveReaderTest {

    @TempDir
    Path dir;

    /** PNG entries with known pixels, in the order the reader must return them. */
    private record Written(Map<String, byte[]> entries, List<byte[]> pixels, List<Integer> labels) {
    }

    /** Classes zebra, ant, moose (sorted: ant, moose, zebra), two images each, written in scrambled order. */
    private static Written pngSplit(String split, int channels, long seed) throws IOException {
        Random r = new Random(seed);
        String[] sorted = {"ant", "moose", "zebra"};
        Map<String, byte[]> entries = new LinkedHashMap<>();
        List<byte[]> pixels = new ArrayList<>();
        List<Integer> labels = new ArrayList<>();
        for (int label = 0; label < sorted.length; label++) {
            for (int k = 0; k < 2; k++) {
                byte[] p = TestImages.randomPixels(r, channels, 5, 4);
                pixels.add(p);
                labels.add(label);
                entries.put(split + "/" + sorted[label] + "/img" + k + ".png", TestImages.png(channels, 5, 4, p));
            }
        }
        // Scramble the archive order: the reader sorts by class, then file name.
        Map<String, byte[]> scrambled = new LinkedHashMap<>();
        List<String> keys = new ArrayList<>(entries.keySet());
        java.util.Collections.reverse(keys);
        for (String k : keys) scrambled.put(k, entries.get(k));
        return new Written(scrambled, pixels, labels);
    }

    private static void assertExact(Dataset d, Written w, int channels) {
        assertThat(d.classNames()).containsExactly("ant", "moose", "zebra");
        assertThat(d.channels()).isEqualTo(channels);
        assertThat(d.height()).isEqualTo(5);
        assertThat(d.width()).isEqualTo(4);
        assertThat(d.size()).isEqualTo(w.pixels().size());
        for (int i = 0; i < d.size(); i++) {
            Sample s = d.samples().get(i);
            assertThat(s.id()).isEqualTo(i);
            assertThat(s.label()).isEqualTo(w.labels().get(i));
            assertThat(s.pixels()).isEqualTo(w.pixels().get(i));
        }
    }

    @Test
    void readsColourPngZipExactlyInClassThenNameOrder() throws IOException {
        Written w = pngSplit("test", 3, 1);
        TestImages.zip(dir.resolve("tiny-test.zip"), w.entries());

        Dataset d = Datasets.open(dir.resolve("tiny-test.zip"), Split.TEST, ReadOptions.defaults());

        assertExact(d, w, 3);
        assertThat(d.description()).isEqualTo("tiny-test.zip (JPEG/PNG zip), test");
    }

    @Test
    void readsGreyPngFolderTreeAsOneChannel() throws IOException {
        Written w = pngSplit("train", 1, 2);
        TestImages.tree(dir, w.entries());

        assertExact(Datasets.open(dir, Split.TRAIN, ReadOptions.defaults()), w, 1);
    }

    @Test
    void picksTheSplitFromOneZipHoldingBoth() throws IOException {
        Written train = pngSplit("train", 3, 3);
        Written test = pngSplit("test", 3, 4);
        Map<String, byte[]> both = new LinkedHashMap<>(train.entries());
        both.putAll(test.entries());
        TestImages.zip(dir.resolve("images.zip"), both);

        assertExact(Datasets.open(dir, Split.TRAIN, ReadOptions.defaults()), train, 3);
        assertExact(Datasets.open(dir, Split.TEST, ReadOptions.defaults()), test, 3);
    }

    @Test
    void picksTheZipWhoseNameHoldsTheSplit() throws IOException {
        Written train = pngSplit("train", 3, 5);
        Written test = pngSplit("test", 3, 6);
        TestImages.zip(dir.resolve("set-train-png.zip"), train.entries());
        TestImages.zip(dir.resolve("set-test-png.zip"), test.entries());

        assertExact(Datasets.open(dir, Split.TEST, ReadOptions.defaults()), test, 3);
        assertExact(Datasets.open(dir, Split.TRAIN, ReadOptions.defaults()), train, 3);
    }

    @Test
    void cifar10ClassFoldersGetTheStandardOrder() throws IOException {
        Map<String, byte[]> entries = new LinkedHashMap<>();
        byte[] png = TestImages.png(3, 2, 2, new byte[12]);
        for (String c : Datasets.CIFAR10_CLASSES) entries.put("test/" + c + "/0000.png", png);
        TestImages.zip(dir.resolve("c-test.zip"), entries);

        Dataset d = Datasets.open(dir, Split.TEST, ReadOptions.defaults());

        assertThat(d.classNames()).isEqualTo(Datasets.CIFAR10_CLASSES);
        assertThat(d.samples()).extracting(Sample::label).containsExactly(0, 1, 2, 3, 4, 5, 6, 7, 8, 9);
    }

    @Test
    void jpegEntriesDecodeCloseToTheirSource() throws IOException {
        byte[] flat = new byte[3 * 8 * 8];
        java.util.Arrays.fill(flat, 0, 64, (byte) 200);
        java.util.Arrays.fill(flat, 64, 128, (byte) 100);
        java.util.Arrays.fill(flat, 128, 192, (byte) 30);
        TestImages.zip(dir.resolve("j-test.zip"), Map.of("test/a/x.jpg", TestImages.jpeg(3, 8, 8, flat)));

        Sample s = Datasets.open(dir, Split.TEST, ReadOptions.defaults()).samples().get(0);

        assertThat(s.pixel(0, 3, 3)).isCloseTo(200, org.assertj.core.data.Offset.offset(4));
        assertThat(s.pixel(1, 3, 3)).isCloseTo(100, org.assertj.core.data.Offset.offset(4));
        assertThat(s.pixel(2, 3, 3)).isCloseTo(30, org.assertj.core.data.Offset.offset(4));
    }

    @Test
    void garbageImageIsAnErrorNamingZipAndEntry() throws IOException {
        Written w = pngSplit("test", 3, 7);
        Map<String, byte[]> entries = new LinkedHashMap<>(w.entries());
        entries.put("test/moose/img0.png", new byte[] {(byte) 0x89, 'P', 'N', 'G', 1, 2, 3, 4, 5, 6});
        entries.put("test/zebra/img1.jpg", "not an image at all".getBytes());
        TestImages.zip(dir.resolve("bad-test.zip"), entries);

        assertThatThrownBy(() -> Datasets.open(dir, Split.TEST, ReadOptions.defaults()))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageStartingWith("bad-test.zip!test/moose/img0.png: not a decodable JPEG/PNG");
        Dataset d = Datasets.open(dir, Split.TEST, ReadOptions.defaults().withSkipCorrupt(true));
        assertThat(d.skipped()).isEqualTo(2);
        assertThat(d.size()).isEqualTo(5);
        assertThat(d.samples()).extracting(Sample::id).containsExactly(0L, 1L, 2L, 3L, 4L);
    }

    @Test
    void misSizedImageIsAnErrorNamingTheEntry() throws IOException {
        Written w = pngSplit("test", 3, 8);
        Map<String, byte[]> entries = new LinkedHashMap<>(w.entries());
        entries.put("test/zebra/img0.png", TestImages.png(3, 6, 4, new byte[72]));
        TestImages.zip(dir.resolve("m-test.zip"), entries);

        assertThatThrownBy(() -> Datasets.open(dir, Split.TEST, ReadOptions.defaults()))
                .isInstanceOf(CorruptDataException.class)
                .hasMessage("m-test.zip!test/zebra/img0.png: image is 3x6x4 (CxHxW), expected 3x5x4"
                        + " (the shape of m-test.zip!test/ant/img0.png)");
        assertThatThrownBy(() -> Datasets.open(dir, Split.TEST, ReadOptions.defaults().withExpectedShape(3, 6, 4)))
                .hasMessage("m-test.zip!test/ant/img0.png: image is 3x5x4 (CxHxW), expected 3x6x4 (the expected shape)");
        assertThat(Datasets.open(dir, Split.TEST, ReadOptions.defaults().withSkipCorrupt(true)).skipped()).isEqualTo(1);
    }

    @Test
    void greyImageAmongColourOnesIsMisSized() throws IOException {
        Written w = pngSplit("test", 3, 9);
        Map<String, byte[]> entries = new LinkedHashMap<>(w.entries());
        entries.put("test/zebra/img1.png", TestImages.png(1, 5, 4, new byte[20]));
        TestImages.zip(dir.resolve("g-test.zip"), entries);

        assertThatThrownBy(() -> Datasets.open(dir, Split.TEST, ReadOptions.defaults()))
                .hasMessageStartingWith("g-test.zip!test/zebra/img1.png: image is 1x5x4 (CxHxW), expected 3x5x4");
    }

    @Test
    void limitReadsTheFirstSamplesInOrder() throws IOException {
        Written w = pngSplit("test", 3, 10);
        TestImages.zip(dir.resolve("l-test.zip"), w.entries());

        Dataset d = Datasets.open(dir, Split.TEST, ReadOptions.defaults().withLimit(3));

        assertThat(d.size()).isEqualTo(3);
        assertThat(d.samples().get(2).pixels()).isEqualTo(w.pixels().get(2));
    }

    @Test
    void unrecognisedFolderAndAmbiguousZipsAreExplained() throws IOException {
        Files.writeString(dir.resolve("notes.txt"), "hello");
        assertThatThrownBy(() -> Datasets.open(dir, Split.TEST, ReadOptions.defaults()))
                .hasMessageStartingWith("Cannot recognise a dataset in " + dir + " for split test: expected CIFAR binary files");

        TestImages.zip(dir.resolve("a.zip"), Map.of("x/a/b.png", TestImages.png(1, 1, 1, new byte[1])));
        TestImages.zip(dir.resolve("b.zip"), Map.of("x/a/b.png", TestImages.png(1, 1, 1, new byte[1])));
        assertThatThrownBy(() -> Datasets.open(dir, Split.TEST, ReadOptions.defaults()))
                .hasMessage("Cannot pick a zip for split test in " + dir + ": none of [a.zip, b.zip] has 'test' in its name");
    }

    @Test
    void splitTokenMatchesWholeWordsOnly() {
        assertThat(ImageArchiveReader.nameHasToken("cifar10-test-jpeg.zip", "test")).isTrue();
        assertThat(ImageArchiveReader.nameHasToken("latest-train.zip", "test")).isFalse();
    }

    @Test
    void decodeImageReturnsExactPngPixelsAndRejectsGarbage() throws IOException {
        byte[] p = TestImages.randomPixels(new Random(11), 3, 3, 7);

        Sample s = Datasets.decodeImage(42, 3, TestImages.png(3, 3, 7, p));

        assertThat(s).isEqualTo(new Sample(42, 3, 3, 3, 7, p));
        assertThatThrownBy(() -> Datasets.decodeImage(1, 0, new byte[] {1, 2, 3}))
                .isInstanceOf(ImageDecodeException.class)
                .hasMessage("not a decodable JPEG/PNG (unknown signature)");
        assertThatThrownBy(() -> Datasets.decodeImage(1, 0, new byte[0]))
                .hasMessage("empty input: not a decodable JPEG/PNG");
    }
}
