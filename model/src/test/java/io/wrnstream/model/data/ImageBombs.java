package io.wrnstream.model.data;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.zip.CRC32;
import java.util.zip.Deflater;

/** Image files whose header declares far more pixels than they carry: what a decoder that trusts the header chokes on. */
public final class ImageBombs {
    private ImageBombs() {}

    /** A PNG declaring {@code w x h} (colour type 0 grey or 2 RGB) with one row of zeros; a few KB. */
    public static byte[] png(int w, int h, int colourType) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(new byte[] {(byte) 0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A});
        chunk(out, "IHDR", ByteBuffer.allocate(13).putInt(w).putInt(h).put((byte) 8).put((byte) colourType)
                .put((byte) 0).put((byte) 0).put((byte) 0).array());
        Deflater d = new Deflater(9);
        d.setInput(new byte[1 + Math.max(1, Math.min(w, 1 << 20)) * (colourType == 2 ? 3 : 1)]);
        d.finish();
        byte[] buf = new byte[1 << 16];
        chunk(out, "IDAT", Arrays.copyOf(buf, d.deflate(buf)));
        chunk(out, "IEND", new byte[0]);
        return out.toByteArray();
    }

    /** Rewrites the height and width of the first SOF0/1/2 marker of {@code jpeg}, in place. */
    public static byte[] patchSof(byte[] jpeg, int height, int width) {
        for (int i = 2; i + 9 < jpeg.length; i++) {
            int m = jpeg[i + 1] & 0xFF;
            if ((jpeg[i] & 0xFF) == 0xFF && (m == 0xC0 || m == 0xC1 || m == 0xC2)) {
                jpeg[i + 5] = (byte) (height >> 8);
                jpeg[i + 6] = (byte) height;
                jpeg[i + 7] = (byte) (width >> 8);
                jpeg[i + 8] = (byte) width;
                return jpeg;
            }
        }
        throw new AssertionError("no SOF marker");
    }

    private static void chunk(ByteArrayOutputStream out, String type, byte[] data) {
        byte[] t = type.getBytes(StandardCharsets.US_ASCII);
        out.writeBytes(ByteBuffer.allocate(4).putInt(data.length).array());
        out.writeBytes(t);
        out.writeBytes(data);
        CRC32 crc = new CRC32();
        crc.update(t);
        crc.update(data);
        out.writeBytes(ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
    }
}
