package io.wrnstream.cli;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import javax.imageio.ImageIO;

/** A small learnable image folder for command tests: classes "a" (dark) and "b" (bright), 16x16 grey PNGs. */
public final class ImageFolders {
    private ImageFolders() {}

    /** {@code n} 16x16 PNGs per class for classes "a" and "b" under {@code root/split/class/}. */
    public static void writeSplit(Path root, String split, int n, long seed) throws Exception {
        Random r = new Random(seed);
        for (String cls : List.of("a", "b")) {
            Path folder = Files.createDirectories(root.resolve(split).resolve(cls));
            for (int i = 0; i < n; i++) {
                BufferedImage img = new BufferedImage(16, 16, BufferedImage.TYPE_INT_RGB);
                int base = cls.equals("a") ? 40 : 200;
                for (int y = 0; y < 16; y++) {
                    for (int x = 0; x < 16; x++) {
                        int v = Math.max(0, Math.min(255, base + r.nextInt(41) - 20));
                        img.setRGB(x, y, (v << 16) | (v << 8) | v);
                    }
                }
                ImageIO.write(img, "png", folder.resolve(String.format("%04d.png", i)).toFile());
            }
        }
    }

    /** A dataset folder with {@code train} and {@code test} images per class. */
    public static Path dataset(Path root, int train, int test) throws Exception {
        writeSplit(root, "train", train, 1);
        writeSplit(root, "test", test, 2);
        return root;
    }
}
