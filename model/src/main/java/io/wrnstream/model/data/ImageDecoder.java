package io.wrnstream.model.data;

import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.DataBufferByte;
import java.awt.image.PixelInterleavedSampleModel;
import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.Iterator;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageInputStream;

/**
 * Decodes JPEG and PNG bytes into uint8 CHW pixels with javax.imageio. Grey images give one channel, colour
 * images three (RGB, alpha dropped).
 *
 * <p>An instance keeps one ImageIO reader per format, so it is cheap to call in a loop but not thread-safe: use one
 * per thread. Streams are memory-backed because {@code ImageIO.read} would otherwise cache to temporary files.
 */
final class ImageDecoder {

    /** Decoded pixels and their shape. */
    record Pixels(int channels, int height, int width, byte[] chw) {
    }

    private ImageReader jpeg;
    private ImageReader png;

    /** Decodes one image, failing with the reason. */
    Pixels decode(byte[] encoded) {
        if (encoded == null || encoded.length == 0) throw new ImageDecodeException("empty input: not a decodable JPEG/PNG");
        ImageReader reader = readerFor(encoded);
        BufferedImage image;
        try (ImageInputStream in = new MemoryCacheImageInputStream(new ByteArrayInputStream(encoded))) {
            reader.setInput(in, true, true);
            image = reader.read(0);
        } catch (IOException | RuntimeException e) {
            throw new ImageDecodeException("not a decodable JPEG/PNG (" + e.getClass().getSimpleName()
                    + (e.getMessage() == null ? "" : ": " + e.getMessage()) + ")", e);
        } finally {
            reader.setInput(null);
        }
        return toChw(image);
    }

    private ImageReader readerFor(byte[] b) {
        if (b.length >= 3 && (b[0] & 0xFF) == 0xFF && (b[1] & 0xFF) == 0xD8 && (b[2] & 0xFF) == 0xFF) {
            if (jpeg == null) jpeg = reader("jpeg");
            return jpeg;
        }
        if (b.length >= 8 && (b[0] & 0xFF) == 0x89 && b[1] == 'P' && b[2] == 'N' && b[3] == 'G') {
            if (png == null) png = reader("png");
            return png;
        }
        throw new ImageDecodeException("not a decodable JPEG/PNG (unknown signature)");
    }

    private static ImageReader reader(String format) {
        Iterator<ImageReader> it = ImageIO.getImageReadersByFormatName(format);
        if (!it.hasNext()) throw new IllegalStateException("No javax.imageio reader for " + format + " in this JVM");
        return it.next();
    }

    /** Copies a decoded image into CHW bytes. */
    static Pixels toChw(BufferedImage image) {
        int w = image.getWidth();
        int h = image.getHeight();
        int plane = w * h;
        Raster raster = image.getRaster();
        ColorModel cm = image.getColorModel();
        if (cm.getColorSpace().getType() == ColorSpace.TYPE_GRAY) {
            int bits = cm.getComponentSize(0);
            int[] v = raster.getSamples(0, 0, w, h, 0, (int[]) null);
            byte[] out = new byte[plane];
            int max = (1 << bits) - 1;
            for (int i = 0; i < plane; i++) {
                int s = v[i];
                // 16-bit keeps the high byte; 1/2/4-bit grey is stretched to 0..255 as a viewer would show it.
                out[i] = (byte) (bits == 8 ? s : bits > 8 ? s >>> (bits - 8) : s * 255 / max);
            }
            return new Pixels(1, h, w, out);
        }
        byte[] out = new byte[3 * plane];
        if (image.getType() == BufferedImage.TYPE_3BYTE_BGR
                && raster.getSampleModel() instanceof PixelInterleavedSampleModel
                && raster.getParent() == null
                && raster.getDataBuffer() instanceof DataBufferByte db
                && db.getData().length == 3 * plane) {
            // The JPEG decoder's usual output: interleaved B, G, R bytes.
            byte[] bgr = db.getData();
            for (int i = 0, j = 0; i < plane; i++, j += 3) {
                out[i] = bgr[j + 2];
                out[plane + i] = bgr[j + 1];
                out[2 * plane + i] = bgr[j];
            }
        } else {
            int[] argb = image.getRGB(0, 0, w, h, null, 0, w);
            for (int i = 0; i < plane; i++) {
                int p = argb[i];
                out[i] = (byte) (p >>> 16);
                out[plane + i] = (byte) (p >>> 8);
                out[2 * plane + i] = (byte) p;
            }
        }
        return new Pixels(3, h, w, out);
    }
}
