package io.wrnstream.model.data;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;

/**
 * Reads IDX files (MNIST, Fashion-MNIST): {@code <prefix>-images-idx3-ubyte} and {@code <prefix>-labels-idx1-ubyte},
 * gzipped or not, with prefix {@code train} or {@code t10k}. Big-endian header: magic {@code 0x0000 08 nd}
 * (unsigned bytes, nd dimensions), then nd 32-bit sizes, then the data.
 */
final class IdxReader {

    static final int IMAGES_MAGIC = 0x00000803;
    static final int LABELS_MAGIC = 0x00000801;

    private IdxReader() {
    }

    /** The images and labels files of a split in {@code dir}, or null when there are none. */
    static Path[] find(Path dir, Split split) throws IOException {
        String prefix = split == Split.TRAIN ? "train" : "t10k";
        Path images = null;
        Path labels = null;
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.filter(Files::isRegularFile).sorted().toList()) {
                String n = f.getFileName().toString().toLowerCase(Locale.ROOT);
                if (n.startsWith(prefix + "-images") && n.contains("idx3")) images = images == null ? f : images;
                if (n.startsWith(prefix + "-labels") && n.contains("idx1")) labels = labels == null ? f : labels;
            }
        }
        if (images == null && labels == null) return null;
        if (images == null || labels == null) {
            throw new CorruptDataException(dir.toString(), "has " + (images == null ? labels : images).getFileName()
                    + " but no matching " + prefix + (images == null ? "-images-idx3-ubyte(.gz)" : "-labels-idx1-ubyte(.gz)"));
        }
        return new Path[] {images, labels};
    }

    /** Whether {@code dir} holds IDX files of either split. */
    static boolean present(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(f -> f.getFileName().toString().toLowerCase(Locale.ROOT))
                    .anyMatch(n -> (n.startsWith("train-") || n.startsWith("t10k-")) && (n.contains("idx3") || n.contains("idx1")));
        }
    }

    static Dataset read(Path dir, Split split, ReadOptions options) throws IOException {
        Path[] files = find(dir, split);
        if (files == null) {
            String prefix = split == Split.TRAIN ? "train" : "t10k";
            throw new CorruptDataException(dir.toString(), "has no " + prefix + "-images-idx3-ubyte(.gz) / "
                    + prefix + "-labels-idx1-ubyte(.gz) for split " + split.id());
        }
        Path imagesPath = files[0];
        Path labelsPath = files[1];
        String imagesName = imagesPath.getFileName().toString();
        String labelsName = labelsPath.getFileName().toString();

        byte[] labels;
        try (DataInputStream in = open(labelsPath)) {
            int magic = readHeaderInt(in, labelsName, "magic number");
            checkMagic(labelsName, magic, LABELS_MAGIC, "labels, 1 dimension");
            int count = readHeaderInt(in, labelsName, "label count");
            labels = new byte[count];
            int n = in.readNBytes(labels, 0, count);
            if (n < count) throw new CorruptDataException(labelsName, "label " + n + " is truncated: header promises " + count + " labels, file holds " + n);
        }

        SampleCollector out = new SampleCollector(options);
        int maxLabel = 0;
        try (DataInputStream in = open(imagesPath)) {
            int magic = readHeaderInt(in, imagesName, "magic number");
            checkMagic(imagesName, magic, IMAGES_MAGIC, "images, 3 dimensions");
            int count = readHeaderInt(in, imagesName, "image count");
            int rows = readHeaderInt(in, imagesName, "row count");
            int cols = readHeaderInt(in, imagesName, "column count");
            if (count != labels.length) {
                throw new CorruptDataException(imagesName, "holds " + count + " images but " + labelsName + " holds "
                        + labels.length + " labels");
            }
            if (rows < 1 || cols < 1) {
                throw new CorruptDataException(imagesName, "invalid image size " + rows + "x" + cols);
            }
            int size = rows * cols;
            for (int i = 0; i < count && out.wantsMore(); i++) {
                byte[] pixels = new byte[size];
                int n = in.readNBytes(pixels, 0, size);
                if (n < size) {
                    out.corrupt(imagesName, "image " + i + " is truncated (" + n + " of " + size + " bytes)", null);
                    break;
                }
                int label = labels[i] & 0xFF;
                maxLabel = Math.max(maxLabel, label);
                out.accept(imagesName + " image " + i, label, 1, rows, cols, pixels);
            }
        }
        String title = dir.toString().toLowerCase(Locale.ROOT).contains("fashion") ? "Fashion-MNIST" : "MNIST";
        List<String> names;
        if (maxLabel < 10) {
            names = title.equals("Fashion-MNIST") ? Datasets.FASHION_MNIST_CLASSES : digits(10);
        } else {
            title = "IDX";
            names = digits(maxLabel + 1);
        }
        return out.build(dir.getFileName() + " (" + title + " IDX), " + split.id(), names);
    }

    private static List<String> digits(int n) {
        List<String> names = new ArrayList<>(n);
        for (int i = 0; i < n; i++) names.add(Integer.toString(i));
        return names;
    }

    private static DataInputStream open(Path p) throws IOException {
        InputStream raw = new BufferedInputStream(Files.newInputStream(p), 1 << 16);
        raw.mark(2);
        int b0 = raw.read();
        int b1 = raw.read();
        raw.reset();
        // Gzip is recognised by its signature, not the file name: some mirrors unpack but keep ".gz".
        InputStream in = (b0 == 0x1f && b1 == 0x8b) ? new BufferedInputStream(new GZIPInputStream(raw, 1 << 16), 1 << 16) : raw;
        return new DataInputStream(in);
    }

    private static int readHeaderInt(DataInputStream in, String file, String what) throws IOException {
        try {
            return in.readInt();
        } catch (EOFException e) {
            throw new CorruptDataException(file, "truncated header: no " + what, e);
        }
    }

    private static void checkMagic(String file, int magic, int expected, String what) throws CorruptDataException {
        if (magic != expected) {
            throw new CorruptDataException(file, String.format("bad magic number 0x%08X, expected 0x%08X (IDX unsigned bytes, %s)",
                    magic, expected, what));
        }
    }
}
