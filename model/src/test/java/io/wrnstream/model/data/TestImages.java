package io.wrnstream.model.data;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import javax.imageio.ImageIO;

/** Builds small synthetic images and archives for reader tests. */
public final class TestImages {

    private TestImages() {
    }

    /** Random CHW pixels. */
    public static byte[] randomPixels(Random r, int c, int h, int w) {
        byte[] p = new byte[c * h * w];
        r.nextBytes(p);
        return p;
    }

    /** PNG encoding of CHW pixels (1 channel: grey, 3: RGB). */
    public static byte[] png(int c, int h, int w, byte[] chw) throws IOException {
        return encode("png", c, h, w, chw);
    }

    /** JPEG encoding of CHW pixels (lossy). */
    public static byte[] jpeg(int c, int h, int w, byte[] chw) throws IOException {
        return encode("jpeg", c, h, w, chw);
    }

    private static byte[] encode(String format, int c, int h, int w, byte[] chw) throws IOException {
        BufferedImage img = new BufferedImage(w, h, c == 1 ? BufferedImage.TYPE_BYTE_GRAY : BufferedImage.TYPE_3BYTE_BGR);
        int plane = h * w;
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int i = y * w + x;
                if (c == 1) {
                    img.getRaster().setSample(x, y, 0, chw[i] & 0xFF);
                } else {
                    img.getRaster().setSample(x, y, 0, chw[i] & 0xFF);
                    img.getRaster().setSample(x, y, 1, chw[plane + i] & 0xFF);
                    img.getRaster().setSample(x, y, 2, chw[2 * plane + i] & 0xFF);
                }
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        if (!ImageIO.write(img, format, out)) throw new IOException("no writer for " + format);
        return out.toByteArray();
    }

    /** Writes a zip with the given entries (in map iteration order). */
    public static void zip(Path file, Map<String, byte[]> entries) throws IOException {
        try (OutputStream os = Files.newOutputStream(file); ZipOutputStream zip = new ZipOutputStream(os)) {
            for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                zip.putNextEntry(new ZipEntry(e.getKey()));
                zip.write(e.getValue());
                zip.closeEntry();
            }
        }
    }

    /** Writes the entries as files under {@code root}. */
    public static void tree(Path root, Map<String, byte[]> entries) throws IOException {
        for (Map.Entry<String, byte[]> e : entries.entrySet()) {
            Path p = root.resolve(e.getKey());
            Files.createDirectories(p.getParent());
            Files.write(p, e.getValue());
        }
    }
}
