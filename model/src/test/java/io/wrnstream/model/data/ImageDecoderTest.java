package io.wrnstream.model.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Image bombs are refused from their header, before anything is allocated for their pixels. */
class ImageDecoderTest {

    @Test
    void probeReadsPngIhdrAndJpegSof() throws IOException {
        Random r = new Random(3);
        assertThat(ImageHeader.probe(TestImages.png(3, 5, 7, TestImages.randomPixels(r, 3, 5, 7))))
                .isEqualTo(new ImageHeader("PNG", 7, 5, 3));
        assertThat(ImageHeader.probe(TestImages.png(1, 9, 4, TestImages.randomPixels(r, 1, 9, 4))))
                .isEqualTo(new ImageHeader("PNG", 4, 9, 1));
        assertThat(ImageHeader.probe(TestImages.jpeg(3, 16, 24, TestImages.randomPixels(r, 3, 16, 24))))
                .isEqualTo(new ImageHeader("JPEG", 24, 16, 3));
    }

    @Test
    void pngDeclaring32000x32000IsRefusedBeforeDecoding() {
        byte[] bomb = ImageBombs.png(32_000, 32_000, 0);
        long before = usedHeap();
        long t0 = System.nanoTime();

        assertThatThrownBy(() -> Datasets.decodeImage(1, 0, bomb))
                .isInstanceOf(ImageDecodeException.class)
                .hasMessage("the PNG header declares 32000x32000 = 1024000000 pixels, above the bound of 16777216; not decoded");

        assertThat((System.nanoTime() - t0) / 1e6).as("ms to refuse").isLessThan(500);
        assertThat(usedHeap() - before).as("bytes allocated while refusing").isLessThan(64L << 20);
    }

    @Test
    void jpegWithPatchedStartOfFrameIsRefusedBeforeDecoding() throws IOException {
        byte[] jpeg = TestImages.jpeg(3, 32, 32, TestImages.randomPixels(new Random(1), 3, 32, 32));
        ImageBombs.patchSof(jpeg, 65_535, 65_535);

        assertThatThrownBy(() -> Datasets.decodeImage(1, 0, jpeg))
                .isInstanceOf(ImageDecodeException.class)
                .hasMessage("the JPEG header declares 65535x65535 = 4294836225 pixels, above the bound of 16777216; not decoded");
    }

    @Test
    void exactLimitsRefuseAnyOtherDeclaredShapeChannelsOrSize() throws IOException {
        byte[] png = TestImages.png(3, 32, 32, TestImages.randomPixels(new Random(2), 3, 32, 32));
        assertThat(Datasets.decodeImage(1, 0, png, ImageLimits.exactly(3, 32, 32)).pixels()).hasSize(3 * 32 * 32);

        assertThatThrownBy(() -> Datasets.decodeImage(1, 0, png, ImageLimits.exactly(3, 28, 28)))
                .hasMessage("the PNG header declares 32x32 pixels (WxH) but 28x28 are expected; not decoded");
        assertThatThrownBy(() -> Datasets.decodeImage(1, 0, png, ImageLimits.exactly(1, 32, 32)))
                .hasMessage("the PNG header declares 3 channel(s) but 1 are expected; not decoded");
        assertThatThrownBy(() -> Datasets.decodeImage(1, 0, png, new ImageLimits(1024, 100, 0, 0, 0)))
                .hasMessage(png.length + " encoded bytes, above the bound of 100; not decoded");
    }

    @Test
    void malformedHeadersFailWithTheReason() {
        byte[] sig = {(byte) 0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
        assertThatThrownBy(() -> ImageHeader.probe(sig)).hasMessage("truncated PNG: 8 bytes, no complete IHDR chunk");
        assertThatThrownBy(() -> ImageHeader.probe(ImageBombs.png(0, 5, 0))).hasMessage("malformed PNG: header declares 0x5 pixels (WxH)");
        byte[] sosFirst = {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF, (byte) 0xDA, 0, 2};
        assertThatThrownBy(() -> ImageHeader.probe(sosFirst)).hasMessage("malformed JPEG: scan before any start-of-frame marker");
        byte[] lossless = {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF, (byte) 0xC3, 0, 11, 8, 0, 8, 0, 8, 3, 0, 0, 0, 0};
        assertThatThrownBy(() -> ImageHeader.probe(lossless))
                .hasMessage("unsupported JPEG: SOF3 (only baseline, extended and progressive DCT are decodable)");
    }

    private static long usedHeap() {
        Runtime rt = Runtime.getRuntime();
        return rt.totalMemory() - rt.freeMemory();
    }
}
