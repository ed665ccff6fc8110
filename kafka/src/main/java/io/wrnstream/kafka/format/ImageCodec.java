package io.wrnstream.kafka.format;

import static io.wrnstream.kafka.format.RecordFormatException.Reason.UNDECODABLE_IMAGE;

import io.wrnstream.model.data.Datasets;
import io.wrnstream.model.data.ImageDecodeException;
import io.wrnstream.model.data.Sample;
import java.awt.image.BufferedImage;
import java.awt.image.DataBufferByte;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Iterator;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageOutputStream;
import javax.imageio.stream.MemoryCacheImageOutputStream;

/**
 * PNG/JPEG to and from CHW uint8 pixels: encoding with {@code javax.imageio}, decoding through the dataset readers'
 * decoder ({@link Datasets#decodeImage}). Streams are memory-cached explicitly: the
 * {@code ImageIO.read/write} shortcuts would spill to temp files by default, which is slow on hot paths.
 * Grey images give 1 channel, colour images 3 (alpha is dropped).
 */
public final class ImageCodec {

    /** JPEG quality used when re-encoding pixels to JPEG (sources that are already JPEG are passed through). */
    public static final float JPEG_QUALITY = 0.95f;

    private ImageCodec() {
    }

    /**
     * Encodes {@code sample} as PNG or JPEG.
     *
     * @throws IllegalArgumentException for {@link ImageEncoding#RAW} or a sample with neither 1 nor 3 channels
     */
    public static byte[] encode(Sample sample, ImageEncoding encoding) {
        if (encoding == ImageEncoding.RAW) throw new IllegalArgumentException("ImageCodec encodes png or jpeg, not raw");
        int c = sample.channels(), h = sample.height(), w = sample.width();
        if (c != 1 && c != 3) {
            throw new IllegalArgumentException("Cannot encode sample " + sample.id() + " with " + c + " channels as "
                    + encoding + ": png and jpeg support 1 (grey) or 3 (RGB) channels");
        }
        BufferedImage img = new BufferedImage(w, h, c == 1 ? BufferedImage.TYPE_BYTE_GRAY : BufferedImage.TYPE_3BYTE_BGR);
        byte[] dst = ((DataBufferByte) img.getRaster().getDataBuffer()).getData();
        byte[] src = sample.pixels();
        int plane = h * w;
        if (c == 1) {
            System.arraycopy(src, 0, dst, 0, plane);
        } else {
            for (int i = 0; i < plane; i++) { // interleaved B,G,R from R,G,B planes
                dst[3 * i] = src[2 * plane + i];
                dst[3 * i + 1] = src[plane + i];
                dst[3 * i + 2] = src[i];
            }
        }
        String format = encoding == ImageEncoding.PNG ? "png" : "jpeg";
        Iterator<ImageWriter> writers = ImageIO.getImageWritersByFormatName(format);
        if (!writers.hasNext()) throw new IllegalStateException("No ImageIO writer for " + format);
        ImageWriter writer = writers.next();
        ByteArrayOutputStream out = new ByteArrayOutputStream(Math.max(256, c * plane / 2));
        try (ImageOutputStream ios = new MemoryCacheImageOutputStream(out)) {
            writer.setOutput(ios);
            ImageWriteParam param = writer.getDefaultWriteParam();
            if (encoding == ImageEncoding.JPEG) {
                param.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
                param.setCompressionQuality(JPEG_QUALITY);
            }
            writer.write(null, new IIOImage(img, null, null), param);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot encode sample " + sample.id() + " as " + format, e);
        } finally {
            writer.dispose();
        }
        return out.toByteArray();
    }

    /**
     * Decodes a PNG or JPEG file into a sample with CHW pixels.
     *
     * @param what how to name the image in an error (encoding or a file name)
     * @throws RecordFormatException {@code UNDECODABLE_IMAGE} when no reader accepts the bytes or decoding fails
     */
    public static Sample decode(long id, int label, byte[] bytes, Object what) {
        try {
            return Datasets.decodeImage(id, label, bytes);  // the one JPEG/PNG decoder, shared with the dataset readers
        } catch (ImageDecodeException | IllegalArgumentException e) {
            throw new RecordFormatException(UNDECODABLE_IMAGE, "Cannot decode " + what + " image of sample " + id
                    + " (" + bytes.length + " bytes): " + e.getMessage(), e);
        }
    }
}
