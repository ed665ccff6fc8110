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

    /** Decodes one image within {@link ImageLimits#DEFAULT}, failing with the reason. */
    Pixels decode(byte[] encoded) {
        return decode(encoded, ImageLimits.DEFAULT);
    }

    /**
     * Decodes one image, failing with the reason. The encoded size and the dimensions the header declares are checked
     * against {@code limits} first, and the decoder's own reading of the header must agree with them, so nothing is
     * allocated for the pixels of an image outside the bounds.
     */
    Pixels decode(byte[] encoded, ImageLimits limits) {
        if (encoded == null || encoded.length == 0) throw new ImageDecodeException("empty input: not a decodable JPEG/PNG");
        if (encoded.length > limits.maxEncodedBytes()) {
            throw new ImageDecodeException(encoded.length + " encoded bytes, above the bound of " + limits.maxEncodedBytes()
                    + "; not decoded");
        }
        ImageHeader header = ImageHeader.probe(encoded);
        limits.check(header, encoded.length);
        ImageReader reader = header.format().equals(ImageHeader.PNG) ? png() : jpeg();
        BufferedImage image;
        try (ImageInputStream in = new MemoryCacheImageInputStream(new ByteArrayInputStream(encoded))) {
            reader.setInput(in, true, true);
            int w = reader.getWidth(0), h = reader.getHeight(0);
            if (w != header.width() || h != header.height()) {
                throw new ImageDecodeException("the " + header.format() + " decoder reads " + w + "x" + h
                        + " pixels but the header declares " + header.width() + "x" + header.height() + "; not decoded");
            }
            image = reader.read(0);
        } catch (ImageDecodeException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            throw new ImageDecodeException("not a decodable JPEG/PNG (" + e.getClass().getSimpleName()
                    + (e.getMessage() == null ? "" : ": " + e.getMessage()) + ")", e);
        } finally {
            reader.setInput(null);
        }
        if (image.getWidth() != header.width() || image.getHeight() != header.height()) {
            throw new ImageDecodeException("the " + header.format() + " image decodes to " + image.getWidth() + "x"
                    + image.getHeight() + " pixels but its header declares " + header.width() + "x" + header.height());
        }
        return toChw(image);
    }

    private ImageReader jpeg() {
        if (jpeg == null) jpeg = reader("jpeg");
        return jpeg;
    }

    private ImageReader png() {
        if (png == null) png = reader("png");
        return png;
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
