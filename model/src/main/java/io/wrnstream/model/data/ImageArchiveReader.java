package io.wrnstream.model.data;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * Reads JPEG/PNG images laid out {@code <split>/<class>/<file>} from a zip or a folder tree.
 *
 * <p>Classes are the sorted class folder names, except that the ten CIFAR-10 names take the standard CIFAR-10
 * order. Samples are ordered by class, then by file name, whatever the archive's own order, so ids are stable.
 * Entries are read and decoded in parallel chunks; results are taken in order, so the outcome (including which
 * corrupt entry is reported first) does not depend on thread timing.
 */
final class ImageArchiveReader {

    /** Chunk of entries decoded in parallel before their results are collected in order. */
    private static final int CHUNK = 2048;

    private ImageArchiveReader() {
    }

    /** One image entry: where it is (for messages), its class folder and file name, and how to read its bytes. */
    private record Entry(String location, String className, String fileName, String key) {
    }

    @FunctionalInterface
    private interface ByteSource {
        byte[] read(Entry e) throws IOException;
    }

    /** Reads the split from a zip holding {@code <split>/<class>/<file>} (or {@code <class>/<file>} when the zip name gives the split). */
    static Dataset readZip(Path zip, Split split, ReadOptions options) throws IOException {
        String zipName = zip.getFileName().toString();
        try (ZipFile zf = new ZipFile(zip.toFile())) {
            List<Entry> inSplit = new ArrayList<>();
            List<Entry> flat = new ArrayList<>();
            Enumeration<? extends ZipEntry> en = zf.entries();
            while (en.hasMoreElements()) {
                ZipEntry ze = en.nextElement();
                if (ze.isDirectory() || !isImageName(ze.getName())) continue;
                String[] parts = ze.getName().split("/");
                if (parts.length < 2) continue;
                String file = parts[parts.length - 1];
                String cls = parts[parts.length - 2];
                Entry e = new Entry(zipName + "!" + ze.getName(), cls, file, ze.getName());
                if (parts.length >= 3 && parts[parts.length - 3].equalsIgnoreCase(split.id())) inSplit.add(e);
                else if (parts.length == 2) flat.add(e);
            }
            List<Entry> entries = inSplit;
            if (entries.isEmpty() && nameHasToken(zipName, split.id())) entries = flat;
            if (entries.isEmpty()) {
                throw new CorruptDataException(zipName, "no JPEG/PNG entries laid out " + split.id()
                        + "/<class>/<file> for split " + split.id());
            }
            ByteSource source = e -> {
                ZipEntry ze = zf.getEntry(e.key());
                try (InputStream in = zf.getInputStream(ze)) {
                    return in.readAllBytes();
                }
            };
            return read(entries, source, zipName + " (JPEG/PNG zip), " + split.id(), options);
        }
    }

    /** Reads the split from a folder tree {@code root/<split>/<class>/<file>}. */
    static Dataset readFolder(Path root, Split split, ReadOptions options) throws IOException {
        Path splitDir = root.resolve(split.id());
        List<Entry> entries = new ArrayList<>();
        try (Stream<Path> classes = Files.list(splitDir)) {
            for (Path classDir : classes.filter(Files::isDirectory).toList()) {
                String cls = classDir.getFileName().toString();
                if (cls.startsWith(".")) continue;
                try (Stream<Path> files = Files.list(classDir)) {
                    for (Path f : files.filter(Files::isRegularFile).toList()) {
                        String name = f.getFileName().toString();
                        if (!isImageName(name)) continue;
                        entries.add(new Entry(root.relativize(f).toString(), cls, name, f.toString()));
                    }
                }
            }
        }
        if (entries.isEmpty()) {
            throw new CorruptDataException(splitDir.toString(), "no JPEG/PNG files laid out <class>/<file>");
        }
        return read(entries, e -> Files.readAllBytes(Path.of(e.key())),
                root.getFileName() + "/" + split.id() + " (JPEG/PNG folder), " + split.id(), options);
    }

    private static Dataset read(List<Entry> entries, ByteSource source, String description, ReadOptions options)
            throws IOException {
        TreeSet<String> names = new TreeSet<>();
        for (Entry e : entries) names.add(e.className());
        List<String> classNames = classOrder(names);
        Map<String, Integer> labelOf = new HashMap<>();
        for (int i = 0; i < classNames.size(); i++) labelOf.put(classNames.get(i), i);
        List<Entry> sorted = new ArrayList<>(entries);
        sorted.sort(Comparator.<Entry>comparingInt(e -> labelOf.get(e.className())).thenComparing(Entry::fileName));

        SampleCollector out = new SampleCollector(options);
        int next = 0;
        while (next < sorted.size() && out.wantsMore()) {
            int n = Math.min(sorted.size() - next, Math.min(CHUNK, Math.max(out.remaining(), 64)));
            Object[] results = decodeChunk(sorted.subList(next, next + n), source);
            for (int i = 0; i < n && out.wantsMore(); i++) {
                Entry e = sorted.get(next + i);
                if (results[i] instanceof ImageDecoder.Pixels p) {
                    out.accept(e.location(), labelOf.get(e.className()), p.channels(), p.height(), p.width(), p.chw());
                } else if (results[i] instanceof ImageDecodeException d) {
                    out.corrupt(e.location(), d.getMessage(), d.getCause());
                } else {
                    throw (IOException) results[i];
                }
            }
            next += n;
        }
        return out.build(description, classNames);
    }

    /** Reads and decodes a chunk in parallel; element i is Pixels, an ImageDecodeException or an IOException. */
    private static Object[] decodeChunk(List<Entry> chunk, ByteSource source) {
        Object[] results = new Object[chunk.size()];
        int parts = Math.max(1, Math.min(chunk.size() / 64, 4 * Runtime.getRuntime().availableProcessors()));
        IntStream.range(0, parts).parallel().forEach(part -> {
            ImageDecoder decoder = new ImageDecoder(); // ImageIO readers are not thread-safe: one per task.
            int from = (int) ((long) chunk.size() * part / parts);
            int to = (int) ((long) chunk.size() * (part + 1) / parts);
            for (int i = from; i < to; i++) {
                Entry e = chunk.get(i);
                byte[] bytes;
                try {
                    bytes = source.read(e);
                } catch (IOException ex) {
                    results[i] = new IOException(e.location() + ": cannot be read: " + ex.getMessage(), ex);
                    continue;
                }
                try {
                    results[i] = decoder.decode(bytes);
                } catch (ImageDecodeException ex) {
                    results[i] = ex;
                }
            }
        });
        return results;
    }

    /** CIFAR-10's ten names keep their standard order; any other set of classes is sorted by name. */
    static List<String> classOrder(TreeSet<String> names) {
        if (names.size() == Datasets.CIFAR10_CLASSES.size() && names.containsAll(Datasets.CIFAR10_CLASSES)) {
            return Datasets.CIFAR10_CLASSES;
        }
        return List.copyOf(names);
    }

    static boolean isImageName(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        int slash = n.lastIndexOf('/');
        String base = n.substring(slash + 1);
        if (base.startsWith(".") || n.contains("__macosx/")) return false;
        return n.endsWith(".jpg") || n.endsWith(".jpeg") || n.endsWith(".png");
    }

    /** Whether a file name holds {@code token} as a whole word, e.g. {@code cifar10-test-jpeg.zip} holds {@code test}, {@code latest.zip} does not. */
    static boolean nameHasToken(String fileName, String token) {
        for (String t : fileName.toLowerCase(Locale.ROOT).split("[^a-z0-9]+")) {
            if (t.equals(token)) return true;
        }
        return false;
    }
}
