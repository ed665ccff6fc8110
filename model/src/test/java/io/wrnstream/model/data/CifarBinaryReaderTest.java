package io.wrnstream.model.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.zip.GZIPOutputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CifarBinaryReaderTest {

    private static final int PIXELS = 3072;

    @TempDir
    Path dir;

    /** Records of label bytes + random pixels; remembers what it wrote. */
    private static final class Records {
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        final List<Integer> labels = new ArrayList<>();
        final List<byte[]> pixels = new ArrayList<>();

        Records add(Random r, int coarse, int label, boolean cifar100) {
            if (cifar100) bytes.write(coarse);
            bytes.write(label);
            byte[] p = TestImages.randomPixels(r, 3, 32, 32);
            bytes.writeBytes(p);
            labels.add(label);
            pixels.add(p);
            return this;
        }
    }

    private static Records cifar10(Random r, int n) {
        Records rec = new Records();
        for (int i = 0; i < n; i++) rec.add(r, 0, r.nextInt(10), false);
        return rec;
    }

    private static void assertSamples(Dataset d, List<Records> files) {
        int i = 0;
        for (Records rec : files) {
            for (int k = 0; k < rec.labels.size(); k++, i++) {
                Sample s = d.samples().get(i);
                assertThat(s.id()).isEqualTo(i);
                assertThat(s.label()).isEqualTo(rec.labels.get(k));
                assertThat(s.pixels()).isEqualTo(rec.pixels.get(k));
            }
        }
        assertThat(d.size()).isEqualTo(i);
    }

    @Test
    void readsCifar10TrainBatchesInOrderWithClassNamesFromMeta() throws IOException {
        Random r = new Random(1);
        List<Records> batches = new ArrayList<>();
        for (int b = 1; b <= 5; b++) {
            Records rec = cifar10(r, 3 + b);
            batches.add(rec);
            Files.write(dir.resolve("data_batch_" + b + ".bin"), rec.bytes.toByteArray());
        }
        Files.write(dir.resolve("test_batch.bin"), cifar10(r, 2).bytes.toByteArray());
        List<String> names = List.of("a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "a9");
        Files.writeString(dir.resolve("batches.meta.txt"), String.join("\n", names) + "\n\n");

        Dataset d = Datasets.open(dir, Split.TRAIN, ReadOptions.defaults());

        assertThat(d.classNames()).isEqualTo(names);
        assertThat(List.of(d.channels(), d.height(), d.width())).containsExactly(3, 32, 32);
        assertThat(d.skipped()).isZero();
        assertThat(d.description()).contains("CIFAR-10 binary").endsWith("train");
        assertSamples(d, batches);
        // The first pixel of the red plane is byte 1 of the record (CHW already).
        assertThat(d.samples().get(0).pixel(0, 0, 0)).isEqualTo(batches.get(0).pixels.get(0)[0] & 0xFF);
    }

    @Test
    void readsCifar10TestBatchFromReleaseSubfolderWithDefaultNames() throws IOException {
        Path sub = Files.createDirectories(dir.resolve("cifar-10-batches-bin"));
        Records rec = cifar10(new Random(2), 7);
        Files.write(sub.resolve("test_batch.bin"), rec.bytes.toByteArray());

        Dataset d = Datasets.open(dir, Split.TEST, ReadOptions.defaults());

        assertThat(d.classNames()).isEqualTo(Datasets.CIFAR10_CLASSES);
        assertSamples(d, List.of(rec));
    }

    @Test
    void readsCifar100FineLabels() throws IOException {
        Random r = new Random(3);
        Records rec = new Records();
        rec.add(r, 19, 99, true).add(r, 4, 0, true).add(r, 7, 42, true);
        Files.write(dir.resolve("test.bin"), rec.bytes.toByteArray());
        Files.write(dir.resolve("train.bin"), new byte[0]);

        Dataset d = Datasets.open(dir, Split.TEST, ReadOptions.defaults());

        assertThat(d.classNames()).hasSize(100).startsWith("apple", "aquarium_fish").endsWith("woman", "worm");
        assertThat(d.classNames().get(42)).isEqualTo("leopard");
        assertThat(d.description()).contains("CIFAR-100");
        assertSamples(d, List.of(rec));
    }

    @Test
    void readsTheReleaseTarball() throws IOException {
        Random r = new Random(4);
        Records test = cifar10(r, 5);
        Path tgz = dir.resolve("cifar-10-binary.tar.gz");
        try (OutputStream os = Files.newOutputStream(tgz);
             TarArchiveOutputStream tar = new TarArchiveOutputStream(new GZIPOutputStream(os))) {
            put(tar, "cifar-10-batches-bin/readme.html", "<html/>".getBytes(StandardCharsets.UTF_8));
            put(tar, "cifar-10-batches-bin/test_batch.bin", test.bytes.toByteArray());
            put(tar, "cifar-10-batches-bin/batches.meta.txt",
                    String.join("\n", Datasets.CIFAR10_CLASSES).getBytes(StandardCharsets.UTF_8));
        }

        Dataset fromFile = Datasets.open(tgz, Split.TEST, ReadOptions.defaults());
        Dataset fromDir = Datasets.open(dir, Split.TEST, ReadOptions.defaults());

        assertSamples(fromFile, List.of(test));
        assertThat(fromDir.samples()).isEqualTo(fromFile.samples());
        assertThat(fromFile.classNames()).isEqualTo(Datasets.CIFAR10_CLASSES);
        assertThatThrownBy(() -> Datasets.open(tgz, Split.TRAIN, ReadOptions.defaults()))
                .isInstanceOf(CorruptDataException.class)
                .hasMessage("cifar-10-binary.tar.gz: holds no CIFAR-10 or CIFAR-100 binary files for split train");
    }

    private static void put(TarArchiveOutputStream tar, String name, byte[] data) throws IOException {
        TarArchiveEntry e = new TarArchiveEntry(name);
        e.setSize(data.length);
        tar.putArchiveEntry(e);
        tar.write(data);
        tar.closeArchiveEntry();
    }

    @Test
    void truncatedRecordIsAnErrorNamingFileAndRecord() throws IOException {
        byte[] full = cifar10(new Random(5), 18).bytes.toByteArray();
        Files.write(dir.resolve("test_batch.bin"), Arrays.copyOf(full, 17 * (PIXELS + 1) + 1200));

        assertThatThrownBy(() -> Datasets.open(dir, Split.TEST, ReadOptions.defaults()))
                .isInstanceOf(CorruptDataException.class)
                .hasMessage("test_batch.bin: record 17 is truncated (1200 of 3073 bytes)");
    }

    @Test
    void skipCorruptCountsTruncatedAndBadLabelRecords() throws IOException {
        Records rec = cifar10(new Random(6), 4);
        byte[] bytes = rec.bytes.toByteArray();
        bytes[(PIXELS + 1)] = 10; // record 1: label out of range
        Files.write(dir.resolve("test_batch.bin"), Arrays.copyOf(bytes, bytes.length - 5));

        assertThatThrownBy(() -> Datasets.open(dir, Split.TEST, ReadOptions.defaults()))
                .hasMessage("test_batch.bin: record 1 has label 10, expected 0..9");
        Dataset d = Datasets.open(dir, Split.TEST, ReadOptions.defaults().withSkipCorrupt(true));

        assertThat(d.skipped()).isEqualTo(2);
        assertThat(d.size()).isEqualTo(2);
        assertThat(d.samples().get(1).pixels()).isEqualTo(rec.pixels.get(2));
        assertThat(d.samples().get(1).id()).isEqualTo(1);
    }

    @Test
    void missingBatchFileIsNamed() throws IOException {
        Files.write(dir.resolve("data_batch_1.bin"), cifar10(new Random(7), 1).bytes.toByteArray());

        assertThatThrownBy(() -> Datasets.open(dir, Split.TRAIN, ReadOptions.defaults()))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageEndingWith("data_batch_2.bin: missing: the CIFAR-10 train split needs data_batch_1.bin, "
                        + "data_batch_2.bin, data_batch_3.bin, data_batch_4.bin, data_batch_5.bin");
    }

    @Test
    void limitStopsEarlyAndExpectedShapeIsEnforced() throws IOException {
        Files.write(dir.resolve("test_batch.bin"), cifar10(new Random(8), 10).bytes.toByteArray());

        assertThat(Datasets.open(dir, Split.TEST, ReadOptions.defaults().withLimit(3)).size()).isEqualTo(3);
        assertThatThrownBy(() -> Datasets.open(dir, Split.TEST, ReadOptions.defaults().withExpectedShape(1, 28, 28)))
                .isInstanceOf(CorruptDataException.class)
                .hasMessage("test_batch.bin record 0: image is 3x32x32 (CxHxW), expected 1x28x28 (the expected shape)");
    }

    @Test
    void wrongNumberOfClassNamesIsAnError() throws IOException {
        Files.write(dir.resolve("test_batch.bin"), cifar10(new Random(9), 1).bytes.toByteArray());
        Files.writeString(dir.resolve("batches.meta.txt"), "cat\ndog\n");

        assertThatThrownBy(() -> Datasets.open(dir, Split.TEST, ReadOptions.defaults()))
                .hasMessage("batches.meta.txt: lists 2 class names, expected 10");
    }
}
