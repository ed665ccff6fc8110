package io.wrnstream.kafka.format;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.wrnstream.kafka.format.RecordFormatException.Reason;
import io.wrnstream.model.data.Sample;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class ImageRecordSerdeTest {

    private final ImageRecordSerde serde = new ImageRecordSerde(10);

    /** A smooth colour image: JPEG keeps it close, PNG exact. */
    static Sample gradient(long id, int label, int channels, int h, int w) {
        byte[] px = new byte[channels * h * w];
        for (int c = 0; c < channels; c++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++) px[(c * h + y) * w + x] = (byte) (30 + 2 * x + 2 * y + 40 * c);
        return new Sample(id, label, channels, h, w, px);
    }

    @ParameterizedTest
    @EnumSource(ImageEncoding.class)
    void roundTripsEveryEncoding(ImageEncoding encoding) {
        Sample sample = gradient(123, 7, 3, 32, 24);
        ImageRecord record = ImageRecord.of(sample, 4, encoding);
        byte[] value = serde.encode(record);

        ImageRecord back = serde.decode(ImageRecordSerde.key(123), value);

        assertThat(back).isEqualTo(record);
        assertThat(back.epoch()).isEqualTo(4);
        assertThat(back.encoding()).isEqualTo(encoding);
        Sample decoded = back.toSample();
        assertThat(decoded.id()).isEqualTo(123);
        assertThat(decoded.label()).isEqualTo(7);
        assertThat(decoded.channels()).isEqualTo(3);
        assertThat(decoded.height()).isEqualTo(32);
        assertThat(decoded.width()).isEqualTo(24);
        if (encoding == ImageEncoding.JPEG) {
            assertThat(maxAbsDiff(decoded.pixels(), sample.pixels())).isLessThanOrEqualTo(12);
        } else {
            assertThat(decoded).isEqualTo(sample);
        }
    }

    @Test
    void roundTripsGreyPng() {
        Sample sample = gradient(5, 2, 1, 28, 28);
        ImageRecord back = serde.decode(null, serde.encode(ImageRecord.of(sample, 0, ImageEncoding.PNG)));
        assertThat(back.toSample()).isEqualTo(sample);
    }

    @Test
    void writesTheDocumentedByteLayout() {
        byte[] px = {1, 2, 3, 4, 5, 6};
        byte[] value = serde.encode(new ImageRecord(0x0102030405060708L, 9, 3, 3, 2, 1, ImageEncoding.RAW, px));

        ByteBuffer b = ByteBuffer.wrap(value);
        assertThat(value).hasSize(ImageRecordSerde.HEADER_BYTES + 6);
        assertThat(b.get(0)).isEqualTo((byte) 'W');
        assertThat(b.get(1)).isEqualTo((byte) 'R');
        assertThat(b.get(2)).isEqualTo((byte) 1);
        assertThat(b.get(3)).isEqualTo((byte) 0);
        assertThat(b.getLong(4)).isEqualTo(0x0102030405060708L);
        assertThat(b.getInt(12)).isEqualTo(9);
        assertThat(b.getShort(16)).isEqualTo((short) 3);
        assertThat(b.getShort(18)).isEqualTo((short) 3);
        assertThat(b.getShort(20)).isEqualTo((short) 2);
        assertThat(b.get(22)).isEqualTo((byte) 1);
        assertThat(b.getInt(24)).isEqualTo(6);
        assertThat(Arrays.copyOfRange(value, 28, 34)).isEqualTo(px);
        assertThat(ImageRecordSerde.key(0x0102030405060708L)).containsExactly(1, 2, 3, 4, 5, 6, 7, 8);
    }

    @Test
    void carriesLargeU16Values() {
        ImageRecordSerde any = new ImageRecordSerde();
        ImageRecord r = new ImageRecord(1, 0, 65535, 65535, 1, 1, ImageEncoding.PNG, new byte[] {1});
        assertThat(any.decode(null, any.encode(r))).isEqualTo(r);
    }

    @Test
    void rejectsEmptyValue() {
        assertRejects(null, new byte[0], Reason.EMPTY_VALUE,
                "Empty image record value for key 5: expected a 28-byte header and a payload");
        assertRejects(null, null, Reason.EMPTY_VALUE, "Empty image record value: expected a 28-byte header");
    }

    @Test
    void rejectsBadMagic() {
        byte[] v = valid();
        v[0] = 0x7b;
        assertRejects(null, v, Reason.BAD_MAGIC, "Not an image record: value starts with 0x7b52, expected magic 0x5752 ('WR')");
    }

    @Test
    void rejectsUnknownVersionNamingIt() {
        byte[] v = valid();
        v[2] = 99;
        assertRejects(null, v, Reason.UNKNOWN_VERSION,
                "Unsupported image record format version 99: this reader supports version 1");
    }

    @Test
    void rejectsUnknownEncoding() {
        byte[] v = valid();
        v[3] = 7;
        assertRejects(null, v, Reason.UNKNOWN_ENCODING,
                "Unknown pixel encoding 7 in image record: expected 0 (raw), 1 (png) or 2 (jpeg)");
    }

    @Test
    void rejectsTruncatedHeaderAndPayload() {
        byte[] v = valid();
        assertRejects(null, Arrays.copyOf(v, 20), Reason.TRUNCATED, "Truncated image record: 20 bytes, the header needs 28");
        assertRejects(null, Arrays.copyOf(v, v.length - 1), Reason.TRUNCATED,
                "Truncated image record: 39 bytes, the payload of image record 5 needs 40");
    }

    @Test
    void rejectsTrailingBytes() {
        byte[] v = Arrays.copyOf(valid(), 41);
        assertRejects(null, v, Reason.SIZE_MISMATCH,
                "Image record 5 has 41 bytes but its header declares 40 (28 + payload 12)");
    }

    @Test
    void rejectsRawPayloadThatDisagreesWithShape() {
        byte[] v = valid();
        ByteBuffer.wrap(v).putShort(18, (short) 3); // width 2 -> 3: 1*2*3 = 6 ... payload 12 bytes of shape 3x2x2
        assertRejects(null, v, Reason.SIZE_MISMATCH, "Raw image record 5 has 12 payload bytes, expected 3*2*3 = 18");
    }

    @Test
    void rejectsZeroDimension() {
        byte[] v = valid();
        ByteBuffer.wrap(v).putShort(20, (short) 0);
        assertRejects(null, v, Reason.BAD_SHAPE, "Invalid shape 3x0x2 (CxHxW) in image record 5: width and height "
                + "must be in 1..65535, channels in 1..255");
    }

    @Test
    void rejectsLabelNotBelowClassCount() {
        byte[] v = valid();
        ByteBuffer.wrap(v).putShort(16, (short) 10);
        assertRejects(null, v, Reason.LABEL_OUT_OF_RANGE, "Invalid label 10 in image record 5: must be in 0..9 (10 classes)");
        assertThatThrownBy(() -> serde.encode(new ImageRecord(1, 0, 12, 1, 1, 1, ImageEncoding.RAW, new byte[1])))
                .isInstanceOf(RecordFormatException.class)
                .hasMessage("Invalid label 12 in image record 1: must be in 0..9 (10 classes)");
    }

    @Test
    void rejectsKeyThatDisagreesWithId() {
        assertRejects(ImageRecordSerde.key(6), valid(), Reason.BAD_ID, "Image record key 6 disagrees with sample id 5 in the value");
        assertRejects(new byte[] {1, 2}, valid(), Reason.BAD_ID,
                "Invalid image record key of 2 bytes: expected the sample id as 8 bytes, big-endian");
    }

    @Test
    void rejectsUndecodableImageOnToSample() {
        ImageRecord r = new ImageRecord(8, 0, 1, 32, 32, 3, ImageEncoding.JPEG, new byte[] {1, 2, 3, 4});
        ImageRecord back = serde.decode(null, serde.encode(r)); // the envelope is fine, the payload is not
        assertThatThrownBy(back::toSample)
                .isInstanceOfSatisfying(RecordFormatException.class, e -> assertThat(e.reason()).isEqualTo(Reason.UNDECODABLE_IMAGE))
                .hasMessage("Cannot decode JPEG image of sample 8 (4 bytes): not a decodable JPEG/PNG (unknown signature)");
    }

    @Test
    void rejectsPayloadWhoseDecodedShapeDiffersFromHeader() {
        byte[] png = ImageCodec.encode(gradient(3, 1, 3, 16, 16), ImageEncoding.PNG);
        ImageRecord lying = new ImageRecord(3, 0, 1, 32, 32, 3, ImageEncoding.PNG, png);
        assertThatThrownBy(lying::toSample)
                .isInstanceOfSatisfying(RecordFormatException.class, e -> assertThat(e.reason()).isEqualTo(Reason.BAD_SHAPE))
                .hasMessage("Image record 3 declares shape 3x32x32 (CxHxW) but its PNG payload decodes to 3x16x16");
    }

    @Test
    void rejectsInvalidRecordFields() {
        assertThatThrownBy(() -> new ImageRecord(-1, 0, 0, 1, 1, 1, ImageEncoding.RAW, new byte[1]))
                .hasMessage("Invalid sample id -1 in image record: must be >= 0");
        assertThatThrownBy(() -> new ImageRecord(1, -2, 0, 1, 1, 1, ImageEncoding.RAW, new byte[1]))
                .hasMessage("Invalid epoch -2 in image record 1: must be >= 0");
        assertThatThrownBy(() -> new ImageRecord(1, 0, 70000, 1, 1, 1, ImageEncoding.RAW, new byte[1]))
                .hasMessage("Invalid label 70000 in image record 1: must be in 0..65535");
        assertThatThrownBy(() -> new ImageRecordSerde(0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Invalid value 0 for numClasses: must be in 1..65536");
    }

    @Test
    void fuzzedValuesFailOnlyWithRecordFormatException() {
        Random rnd = new Random(42);
        byte[] good = serde.encode(ImageRecord.of(gradient(9, 3, 3, 8, 8), 0, ImageEncoding.PNG));
        for (int i = 0; i < 2000; i++) {
            byte[] v = Arrays.copyOf(good, rnd.nextInt(good.length + 4));
            for (int k = 0; k < 3; k++) if (v.length > 0) v[rnd.nextInt(v.length)] = (byte) rnd.nextInt();
            try {
                serde.decode(null, v).toSample();
            } catch (RecordFormatException expected) {
                assertThat(expected.getMessage()).isNotBlank();
            }
        }
    }

    @Test
    void kafkaSerializerPairRoundTrips() {
        try (ImageRecordSerializer ser = new ImageRecordSerializer(); ImageRecordDeserializer de = new ImageRecordDeserializer()) {
            de.configure(java.util.Map.of(ImageRecordSerializer.NUM_CLASSES_CONFIG, "10"), false);
            ImageRecord r = ImageRecord.raw(gradient(1, 9, 1, 4, 4), 2);
            assertThat(de.deserialize("t", ser.serialize("t", r))).isEqualTo(r);
        }
    }

    /** A raw 3x2x2 record with id 5, label 4: 40 bytes. */
    private byte[] valid() {
        byte[] px = new byte[12];
        for (int i = 0; i < px.length; i++) px[i] = (byte) i;
        return serde.encode(new ImageRecord(5, 1, 4, 2, 2, 3, ImageEncoding.RAW, px));
    }

    private void assertRejects(byte[] key, byte[] value, Reason reason, String messageStart) {
        byte[] k = key != null ? key : (value != null && value.length == 0 ? ImageRecordSerde.key(5) : null);
        assertThatThrownBy(() -> serde.decode(k, value))
                .isInstanceOfSatisfying(RecordFormatException.class, e -> assertThat(e.reason()).isEqualTo(reason))
                .hasMessageStartingWith(messageStart);
    }

    private static int maxAbsDiff(byte[] a, byte[] b) {
        int m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] & 0xFF) - (b[i] & 0xFF)));
        return m;
    }
}
