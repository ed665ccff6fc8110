package io.wrnstream.model.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * Opens a dataset split from disk, recognising the format from what is there.
 *
 * <pre>{@code
 * Dataset train = Datasets.open(Path.of("../shared/datasets/cifar10-jpeg"), Split.TRAIN, ReadOptions.defaults());
 * }</pre>
 *
 * <p>Recognised, in this order, for a directory: CIFAR-10 binary ({@code data_batch_1..5.bin}, {@code test_batch.bin}),
 * CIFAR-100 binary ({@code train.bin}, {@code test.bin}), either in a {@code cifar-10-batches-bin} or
 * {@code cifar-100-binary} subfolder, IDX ({@code train|t10k-images-idx3-ubyte[.gz]} + labels), a CIFAR binary
 * release tarball ({@code cifar-*.tar.gz}), zips of JPEG/PNG images (the one whose name contains the split, else
 * the only zip), and a JPEG/PNG folder tree {@code <split>/<class>/<file>}. A file may be a {@code .zip} of images or
 * a CIFAR {@code .tar.gz}.
 */
public final class Datasets {

    /** The CIFAR-10 classes in label order. */
    public static final List<String> CIFAR10_CLASSES = List.of(
            "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck");

    /** The Fashion-MNIST classes in label order. */
    public static final List<String> FASHION_MNIST_CLASSES = List.of(
            "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot");

    /** The 100 CIFAR-100 fine classes in label order (as in {@code fine_label_names.txt}). */
    public static final List<String> CIFAR100_CLASSES = List.of(
            "apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle", "bicycle", "bottle",
            "bowl", "boy", "bridge", "bus", "butterfly", "camel", "can", "castle", "caterpillar", "cattle",
            "chair", "chimpanzee", "clock", "cloud", "cockroach", "couch", "crab", "crocodile", "cup", "dinosaur",
            "dolphin", "elephant", "flatfish", "forest", "fox", "girl", "hamster", "house", "kangaroo", "keyboard",
            "lamp", "lawn_mower", "leopard", "lion", "lizard", "lobster", "man", "maple_tree", "motorcycle", "mountain",
            "mouse", "mushroom", "oak_tree", "orange", "orchid", "otter", "palm_tree", "pear", "pickup_truck", "pine_tree",
            "plain", "plate", "poppy", "porcupine", "possum", "rabbit", "raccoon", "ray", "road", "rocket",
            "rose", "sea", "seal", "shark", "shrew", "skunk", "skyscraper", "snail", "snake", "spider",
            "squirrel", "streetcar", "sunflower", "sweet_pepper", "table", "tank", "telephone", "television", "tiger", "tractor",
            "train", "trout", "tulip", "turtle", "wardrobe", "whale", "willow_tree", "wolf", "woman", "worm");

    private Datasets() {
    }

    /**
     * Reads one split of the dataset at {@code path}.
     *
     * @throws CorruptDataException when a file or entry is corrupt, truncated or mis-sized (unless
     *     {@link ReadOptions#skipCorrupt()}); the message names the file and entry
     * @throws IOException when the path holds no recognisable dataset or cannot be read
     */
    public static Dataset open(Path path, Split split, ReadOptions options) throws IOException {
        if (!Files.exists(path)) throw new NoSuchFileException(path.toString(), null, "no dataset here");
        if (Files.isRegularFile(path)) return openFile(path, split, options);

        CifarBinaryReader.Variant cifar = CifarBinaryReader.detect(path);
        if (cifar != null) return CifarBinaryReader.readDirectory(path, cifar, split, options);
        for (String sub : List.of("cifar-10-batches-bin", "cifar-100-binary")) {
            Path p = path.resolve(sub);
            if (Files.isDirectory(p) && CifarBinaryReader.detect(p) != null) {
                return CifarBinaryReader.readDirectory(p, CifarBinaryReader.detect(p), split, options);
            }
        }
        if (IdxReader.present(path)) return IdxReader.read(path, split, options);

        List<Path> files;
        try (Stream<Path> s = Files.list(path)) {
            files = s.filter(Files::isRegularFile).sorted().toList();
        }
        List<Path> tarballs = files.stream().filter(f -> isCifarTarball(name(f))).toList();
        if (tarballs.size() == 1) return CifarBinaryReader.readTarGz(tarballs.get(0), split, options);
        if (tarballs.size() > 1) {
            throw new IOException("Ambiguous dataset folder " + path + ": several CIFAR tarballs " + names(tarballs)
                    + "; point at one of them");
        }
        List<Path> zips = files.stream().filter(f -> name(f).endsWith(".zip")).toList();
        if (!zips.isEmpty()) {
            List<Path> named = zips.stream().filter(z -> ImageArchiveReader.nameHasToken(name(z), split.id())).toList();
            if (named.size() == 1) return ImageArchiveReader.readZip(named.get(0), split, options);
            if (named.size() > 1) {
                throw new IOException("Ambiguous dataset folder " + path + ": several zips " + names(named)
                        + " name split " + split.id() + "; point at one of them");
            }
            if (zips.size() == 1) return ImageArchiveReader.readZip(zips.get(0), split, options);
            throw new IOException("Cannot pick a zip for split " + split.id() + " in " + path + ": none of " + names(zips)
                    + " has '" + split.id() + "' in its name");
        }
        if (Files.isDirectory(path.resolve(split.id()))) return ImageArchiveReader.readFolder(path, split, options);
        throw new IOException("Cannot recognise a dataset in " + path + " for split " + split.id()
                + ": expected CIFAR binary files (data_batch_1.bin, test_batch.bin, train.bin, test.bin), IDX files"
                + " (train-images-idx3-ubyte[.gz], ...), a cifar-*.tar.gz, a zip of JPEG/PNG images or a folder "
                + split.id() + "/<class>/<image>");
    }

    private static Dataset openFile(Path file, Split split, ReadOptions options) throws IOException {
        String n = name(file);
        if (n.endsWith(".zip")) return ImageArchiveReader.readZip(file, split, options);
        if (n.endsWith(".tar.gz") || n.endsWith(".tgz")) return CifarBinaryReader.readTarGz(file, split, options);
        throw new IOException("Cannot read dataset file " + file + ": expected a .zip of JPEG/PNG images or a CIFAR"
                + " binary .tar.gz (or a directory holding the dataset)");
    }

    /**
     * Decodes one JPEG or PNG image into a sample: grey images give 1 channel, colour images 3 (RGB, alpha dropped).
     * Thread-safe; each call uses its own decoder.
     *
     * @throws ImageDecodeException with the reason when the bytes are not a decodable JPEG/PNG
     */
    public static Sample decodeImage(long id, int label, byte[] encoded) {
        return decodeImage(id, label, encoded, ImageLimits.DEFAULT);
    }

    /**
     * Like {@link #decodeImage(long, int, byte[])}, within {@code limits}: the encoded size and the dimensions the
     * header declares are checked before anything is allocated for the pixels.
     *
     * @throws ImageDecodeException with the reason when the bytes are not a decodable JPEG/PNG or outside the limits
     */
    public static Sample decodeImage(long id, int label, byte[] encoded, ImageLimits limits) {
        ImageDecoder.Pixels p = new ImageDecoder().decode(encoded, limits);
        return new Sample(id, label, p.channels(), p.height(), p.width(), p.chw());
    }

    private static boolean isCifarTarball(String n) {
        return n.startsWith("cifar") && (n.endsWith(".tar.gz") || n.endsWith(".tgz"));
    }

    private static String name(Path p) {
        return p.getFileName().toString().toLowerCase(Locale.ROOT);
    }

    private static String names(List<Path> paths) {
        return paths.stream().map(p -> p.getFileName().toString()).toList().toString();
    }
}
