package io.wrnstream.kafka.ingest;

import io.wrnstream.kafka.format.ImageEncoding;
import io.wrnstream.model.data.Datasets;
import io.wrnstream.model.data.Sample;
import io.wrnstream.model.data.Split;
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
import java.util.Optional;
import java.util.TreeSet;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * The JPEG/PNG files of a split exactly as stored, for {@link IngestEncoding#SOURCE}: {@code Datasets.open} returns
 * decoded pixels only, and re-encoding CIFAR's JPEGs would cost time and quality. Layout and order follow the model's
 * image-archive reader ({@code <split>/<class>/<file>} in a zip or folder, CIFAR-10 classes in their standard order,
 * others sorted, entries by class then file name), so ids agree with {@code Datasets.open}'s as long as no entry is
 * corrupt; a skipped corrupt entry leaves a gap in the ids here instead of renumbering the rest.
 */
final class EncodedImageSource implements AutoCloseable {

    /** One stored image, checked to decode. */
    record EncodedImage(long id, int label, int channels, int height, int width, ImageEncoding encoding, byte[] bytes) {
    }

    private record Entry(String location, String className, String fileName, String key) {
    }

    private final String name;
    private final ZipFile zip; // null for a folder
    private final List<Entry> entries;
    private final List<String> classNames;
    private final Map<String, Integer> labelOf = new HashMap<>();

    private EncodedImageSource(String name, ZipFile zip, List<Entry> unsorted) {
        this.name = name;
        this.zip = zip;
        TreeSet<String> names = new TreeSet<>();
        for (Entry e : unsorted) names.add(e.className());
        this.classNames = names.size() == Datasets.CIFAR10_CLASSES.size() && names.containsAll(Datasets.CIFAR10_CLASSES)
                ? Datasets.CIFAR10_CLASSES : List.copyOf(names);
        for (int i = 0; i < classNames.size(); i++) labelOf.put(classNames.get(i), i);
        List<Entry> sorted = new ArrayList<>(unsorted);
        sorted.sort(Comparator.<Entry>comparingInt(e -> labelOf.get(e.className())).thenComparing(Entry::fileName));
        this.entries = List.copyOf(sorted);
    }

    /**
     * The stored images of {@code split} at {@code path} when it is a zip or folder of JPEG/PNG images; empty for
     * anything else (binary formats, or nothing recognisable: {@code Datasets.open} then names what it accepts).
     */
    static Optional<EncodedImageSource> detect(Path path, Split split) throws IOException {
        if (Files.isRegularFile(path)) {
            return name(path).endsWith(".zip") ? Optional.of(openZip(path, split)) : Optional.empty();
        }
        if (!Files.isDirectory(path)) return Optional.empty();
        List<Path> files;
        try (Stream<Path> s = Files.list(path)) {
            files = s.sorted().toList();
        }
        for (Path f : files) {
            String n = name(f);
            if (n.endsWith(".bin") || n.contains("-ubyte") || (n.startsWith("cifar") && (n.endsWith(".tar.gz")
                    || n.endsWith(".tgz"))) || n.equals("cifar-10-batches-bin") || n.equals("cifar-100-binary")) {
                return Optional.empty();
            }
        }
        List<Path> zips = files.stream().filter(f -> Files.isRegularFile(f) && name(f).endsWith(".zip")).toList();
        List<Path> named = zips.stream().filter(z -> hasToken(name(z), split.id())).toList();
        if (named.size() == 1) return Optional.of(openZip(named.get(0), split));
        if (named.isEmpty() && zips.size() == 1) return Optional.of(openZip(zips.get(0), split));
        if (zips.isEmpty() && Files.isDirectory(path.resolve(split.id()))) return Optional.of(openFolder(path, split));
        return Optional.empty();
    }

    private static EncodedImageSource openZip(Path file, Split split) throws IOException {
        String zipName = file.getFileName().toString();
        ZipFile zf = new ZipFile(file.toFile());
        List<Entry> inSplit = new ArrayList<>();
        List<Entry> flat = new ArrayList<>();
        Enumeration<? extends ZipEntry> en = zf.entries();
        while (en.hasMoreElements()) {
            ZipEntry ze = en.nextElement();
            if (ze.isDirectory() || !isImageName(ze.getName())) continue;
            String[] parts = ze.getName().split("/");
            if (parts.length < 2) continue;
            Entry e = new Entry(zipName + "!" + ze.getName(), parts[parts.length - 2], parts[parts.length - 1], ze.getName());
            if (parts.length >= 3 && parts[parts.length - 3].equalsIgnoreCase(split.id())) inSplit.add(e);
            else if (parts.length == 2) flat.add(e);
        }
        List<Entry> entries = !inSplit.isEmpty() || !hasToken(zipName, split.id()) ? inSplit : flat;
        if (entries.isEmpty()) {
            zf.close();
            throw new IOException(zipName + ": no JPEG/PNG entries laid out " + split.id() + "/<class>/<file>");
        }
        return new EncodedImageSource(zipName, zf, entries);
    }

    private static EncodedImageSource openFolder(Path root, Split split) throws IOException {
        Path splitDir = root.resolve(split.id());
        List<Entry> entries = new ArrayList<>();
        try (Stream<Path> classes = Files.list(splitDir)) {
            for (Path classDir : classes.filter(Files::isDirectory).toList()) {
                String cls = classDir.getFileName().toString();
                if (cls.startsWith(".")) continue;
                try (Stream<Path> files = Files.list(classDir)) {
                    for (Path f : files.filter(Files::isRegularFile).toList()) {
                        String n = f.getFileName().toString();
                        if (isImageName(n)) entries.add(new Entry(root.relativize(f).toString(), cls, n, f.toString()));
                    }
                }
            }
        }
        if (entries.isEmpty()) throw new IOException(splitDir + ": no JPEG/PNG files laid out <class>/<file>");
        return new EncodedImageSource(root.getFileName() + "/" + split.id(), null, entries);
    }

    /** Name for the {@code wrn.source} header: the zip's or the folder's name. */
    String name() {
        return name;
    }

    /** Class names by label. */
    List<String> classNames() {
        return classNames;
    }

    /** Number of images in the split. */
    int size() {
        return entries.size();
    }

    /**
     * Reads and checks the images at {@code indices} (ascending positions in the sorted listing, which become the ids).
     * Every image must decode and have the shape of the first one.
     *
     * @param skipped receives the number of corrupt images skipped (index 0)
     * @throws IOException naming the entry, for an unreadable or corrupt image unless {@code skipCorrupt}
     */
    List<EncodedImage> read(int[] indices, boolean skipCorrupt, long[] skipped) throws IOException {
        List<EncodedImage> out = new ArrayList<>(indices.length);
        int[] shape = null;
        for (int index : indices) {
            Entry e = entries.get(index);
            byte[] bytes = bytes(e);
            int label = labelOf.get(e.className());
            String problem;
            try {
                Sample s = Datasets.decodeImage(index, label, bytes);
                int[] sh = {s.channels(), s.height(), s.width()};
                if (shape == null) shape = sh;
                if (java.util.Arrays.equals(shape, sh)) {
                    out.add(new EncodedImage(index, label, sh[0], sh[1], sh[2], encodingOf(bytes), bytes));
                    continue;
                }
                problem = "image is " + sh[0] + "x" + sh[1] + "x" + sh[2] + ", the first image is "
                        + shape[0] + "x" + shape[1] + "x" + shape[2] + " (CxHxW)";
            } catch (RuntimeException ex) {
                problem = "cannot decode image: " + ex.getMessage();
            }
            if (!skipCorrupt) throw new IOException(e.location() + ": " + problem + " (use --skip-corrupt to skip it)");
            skipped[0]++;
        }
        return out;
    }

    private byte[] bytes(Entry e) throws IOException {
        if (zip == null) return Files.readAllBytes(Path.of(e.key()));
        try (InputStream in = zip.getInputStream(zip.getEntry(e.key()))) {
            return in.readAllBytes();
        }
    }

    private static ImageEncoding encodingOf(byte[] b) {
        // PNG files start with 0x89 'P' 'N' 'G'; anything else that decoded is JPEG.
        return b.length > 3 && (b[0] & 0xFF) == 0x89 && b[1] == 'P' && b[2] == 'N' && b[3] == 'G'
                ? ImageEncoding.PNG : ImageEncoding.JPEG;
    }

    private static boolean isImageName(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        String base = n.substring(n.lastIndexOf('/') + 1);
        if (base.startsWith(".") || n.contains("__macosx/")) return false;
        return n.endsWith(".jpg") || n.endsWith(".jpeg") || n.endsWith(".png");
    }

    private static boolean hasToken(String fileName, String token) {
        for (String t : fileName.toLowerCase(Locale.ROOT).split("[^a-z0-9]+")) {
            if (t.equals(token)) return true;
        }
        return false;
    }

    private static String name(Path p) {
        return p.getFileName().toString().toLowerCase(Locale.ROOT);
    }

    @Override
    public void close() throws IOException {
        if (zip != null) zip.close();
    }
}
