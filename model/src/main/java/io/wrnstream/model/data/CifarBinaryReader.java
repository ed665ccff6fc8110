package io.wrnstream.model.data;

import java.io.BufferedInputStream;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * Reads the CIFAR-10 and CIFAR-100 binary releases: fixed-size records of label byte(s) then 3,072 pixel bytes
 * (1,024 red, 1,024 green, 1,024 blue, rows top to bottom), which is already CHW.
 */
final class CifarBinaryReader {

    /** The two layouts of the binary release. */
    enum Variant {
        /** 1 label byte; {@code data_batch_1..5.bin}, {@code test_batch.bin}, names in {@code batches.meta.txt}. */
        CIFAR10("CIFAR-10", 1, 10, "batches.meta.txt",
                List.of("data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"),
                List.of("test_batch.bin"), Datasets.CIFAR10_CLASSES),
        /** Coarse then fine label byte (the fine one is used); {@code train.bin}, {@code test.bin}, names in {@code fine_label_names.txt}. */
        CIFAR100("CIFAR-100", 2, 100, "fine_label_names.txt", List.of("train.bin"), List.of("test.bin"),
                Datasets.CIFAR100_CLASSES);

        final String title;
        final int labelBytes;
        final int classes;
        final String namesFile;
        final List<String> trainFiles;
        final List<String> testFiles;
        final List<String> defaultNames;

        Variant(String title, int labelBytes, int classes, String namesFile, List<String> trainFiles,
                List<String> testFiles, List<String> defaultNames) {
            this.title = title;
            this.labelBytes = labelBytes;
            this.classes = classes;
            this.namesFile = namesFile;
            this.trainFiles = trainFiles;
            this.testFiles = testFiles;
            this.defaultNames = defaultNames;
        }

        List<String> files(Split split) {
            return split == Split.TRAIN ? trainFiles : testFiles;
        }

        int recordSize() {
            return labelBytes + PIXELS;
        }
    }

    static final int PIXELS = 3 * 32 * 32;

    private CifarBinaryReader() {
    }

    /** The variant whose files for {@code split} are in {@code dir}, or null. */
    static Variant detect(Path dir) {
        for (Variant v : Variant.values()) {
            for (String f : v.testFiles) if (Files.isRegularFile(dir.resolve(f))) return v;
            for (String f : v.trainFiles) if (Files.isRegularFile(dir.resolve(f))) return v;
        }
        return null;
    }

    /** Reads a split from a folder of {@code .bin} files. */
    static Dataset readDirectory(Path dir, Variant v, Split split, ReadOptions options) throws IOException {
        List<String> names = v.defaultNames;
        Path namesPath = dir.resolve(v.namesFile);
        if (Files.isRegularFile(namesPath)) names = parseNames(v, v.namesFile, Files.readAllBytes(namesPath));
        SampleCollector out = new SampleCollector(options);
        for (String f : v.files(split)) {
            Path p = dir.resolve(f);
            if (!Files.isRegularFile(p)) {
                throw new CorruptDataException(p.toString(), "missing: the " + v.title + " " + split.id() + " split needs "
                        + String.join(", ", v.files(split)));
            }
            try (InputStream in = new BufferedInputStream(Files.newInputStream(p), 1 << 16)) {
                readRecords(in, f, v, out);
            }
            if (!out.wantsMore()) break;
        }
        return out.build(dir.getFileName() + " (" + v.title + " binary), " + split.id(), names);
    }

    /** Reads a split from the release tarball ({@code cifar-10-binary.tar.gz} or {@code cifar-100-binary.tar.gz}). */
    static Dataset readTarGz(Path tgz, Split split, ReadOptions options) throws IOException {
        String tarName = tgz.getFileName().toString();
        Map<String, byte[]> byBaseName = new HashMap<>();
        Map<String, String> fullName = new HashMap<>();
        try (TarArchiveInputStream tar = new TarArchiveInputStream(
                new GZIPInputStream(new BufferedInputStream(Files.newInputStream(tgz), 1 << 16), 1 << 16))) {
            TarArchiveEntry e;
            while ((e = tar.getNextEntry()) != null) {
                if (!e.isFile()) continue;
                String base = e.getName().substring(e.getName().lastIndexOf('/') + 1);
                if (wanted(base, split)) {
                    // Buffered because the release does not promise the batches in order.
                    byBaseName.put(base, tar.readAllBytes());
                    fullName.put(base, e.getName());
                }
            }
        }
        Variant v = null;
        for (Variant c : Variant.values()) {
            if (c.files(split).stream().anyMatch(byBaseName::containsKey)) {
                v = c;
                break;
            }
        }
        if (v == null) {
            throw new CorruptDataException(tarName, "holds no CIFAR-10 or CIFAR-100 binary files for split " + split.id());
        }
        List<String> names = byBaseName.containsKey(v.namesFile)
                ? parseNames(v, tarName + "!" + fullName.get(v.namesFile), byBaseName.get(v.namesFile))
                : v.defaultNames;
        SampleCollector out = new SampleCollector(options);
        for (String f : v.files(split)) {
            byte[] data = byBaseName.get(f);
            if (data == null) {
                throw new CorruptDataException(tarName, "lacks " + f + ": the " + v.title + " " + split.id() + " split needs "
                        + String.join(", ", v.files(split)));
            }
            readRecords(new ByteArrayInputStream(data), tarName + "!" + fullName.get(f), v, out);
            if (!out.wantsMore()) break;
        }
        return out.build(tarName + " (" + v.title + " binary), " + split.id(), names);
    }

    private static boolean wanted(String base, Split split) {
        for (Variant v : Variant.values()) {
            if (v.files(split).contains(base) || v.namesFile.equals(base)) return true;
        }
        return false;
    }

    private static void readRecords(InputStream in, String location, Variant v, SampleCollector out) throws IOException {
        int size = v.recordSize();
        byte[] record = new byte[size];
        for (long index = 0; out.wantsMore(); index++) {
            int n = in.readNBytes(record, 0, size);
            if (n == 0) return;
            if (n < size) {
                out.corrupt(location, "record " + index + " is truncated (" + n + " of " + size + " bytes)", null);
                return;
            }
            int label = record[v.labelBytes - 1] & 0xFF;
            if (label >= v.classes) {
                out.corrupt(location, "record " + index + " has label " + label + ", expected 0.." + (v.classes - 1), null);
                continue;
            }
            byte[] pixels = new byte[PIXELS];
            System.arraycopy(record, v.labelBytes, pixels, 0, PIXELS);
            out.accept(location + " record " + index, label, 3, 32, 32, pixels);
        }
    }

    private static List<String> parseNames(Variant v, String location, byte[] text) throws CorruptDataException {
        List<String> names = new ArrayList<>();
        for (String line : new String(text, StandardCharsets.UTF_8).split("\\R")) {
            if (!line.isBlank()) names.add(line.trim());
        }
        if (names.size() != v.classes) {
            throw new CorruptDataException(location, "lists " + names.size() + " class names, expected " + v.classes);
        }
        return names;
    }
}
