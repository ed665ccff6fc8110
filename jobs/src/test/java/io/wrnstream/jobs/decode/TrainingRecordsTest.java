package io.wrnstream.jobs.decode;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.wrnstream.kafka.format.ImageCodec;
import io.wrnstream.kafka.format.ImageEncoding;
import io.wrnstream.kafka.format.ImageRecord;
import io.wrnstream.kafka.format.ImageRecordSerde;
import io.wrnstream.kafka.format.RecordFormatException;
import io.wrnstream.jobs.testing.Poison;
import io.wrnstream.model.data.Sample;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class TrainingRecordsTest {
    private final TrainingRecords rules = new TrainingRecords(10, 3, 32, 32);

    @Test
    void everyPoisonKindIsRefusedWithItsReason() {
        List<Poison.Kind> corpus = Poison.corpus();
        assertThat(corpus).hasSizeGreaterThanOrEqualTo(20);
        for (Poison.Kind k : corpus) {
            KafkaImage in = deserialized(k.key(), k.value());
            assertThatThrownBy(() -> rules.decode(in)).as(k.name())
                    .isInstanceOfSatisfying(RecordFormatException.class, e -> assertThat(e.reason().name()).as(k.name()).isEqualTo(k.reason()));
        }
    }

    @Test
    void nullKeyIsABadId() {
        byte[] v = new ImageRecordSerde(10).encode(ImageRecord.raw(new Sample(5, 1, 3, 32, 32, new byte[3072]), 0));
        assertThatThrownBy(() -> rules.decode(new KafkaImage(null, v, "t", 0, 7)))
                .hasMessage("Image record at t-0@7 has a null key: expected the sample id as 8 bytes, big-endian");
    }

    @Test
    void jpegBytesLabelledPngAreAnEncodingMismatch() {
        byte[] jpeg = ImageCodec.encode(new Sample(5, 1, 3, 32, 32, new byte[3072]), ImageEncoding.JPEG);
        ImageRecord r = new ImageRecord(5, 0, 1, 32, 32, 3, ImageEncoding.PNG, jpeg);
        assertThatThrownBy(() -> rules.decode(new KafkaImage(r.key(), new ImageRecordSerde(10).encode(r), "t", 0, 1)))
                .hasMessage("Image record 5 declares a PNG payload but the payload is JPEG");
    }

    @Test
    void pngBombIsRefusedFromItsHeaderWithoutAllocating() {
        ImageRecord r = new ImageRecord(5, 0, 1, 32, 32, 3, ImageEncoding.PNG, Poison.pngBomb(32_000, 32_000, 0));
        KafkaImage in = new KafkaImage(r.key(), new ImageRecordSerde(10).encode(r), "t", 0, 1);
        long t0 = System.nanoTime();
        assertThatThrownBy(() -> rules.decode(in))
                .hasMessage("Image record 5 declares shape 3x32x32 (CxHxW) but its PNG header declares 1x32000x32000; not decoded");
        assertThat((System.nanoTime() - t0) / 1e6).as("ms").isLessThan(200);
    }

    @Test
    void oversizedValueTravelsAsAPrefixAndIsTooLarge() {
        int max = TrainingRecords.maxValueBytes(3, 32, 32);
        byte[] big = new byte[max + 1];
        KafkaImage in = deserialized(ImageRecordSerde.key(1), big);
        assertThat(in.value()).hasSize(KafkaImageDeserializer.KEPT_PREFIX_BYTES);
        assertThat(in.valueSize()).isEqualTo(max + 1);
        assertThatThrownBy(() -> rules.decode(in)).hasMessage("Image record value at t-0@0 has " + (max + 1)
                + " bytes, more than a record of input.shape 3x32x32 can have (" + max + "); not decoded");
        assertThat(TrainingRecords.deadLetter(in, "TOO_LARGE", "x").valueBytes()).isEqualTo(max + 1);
    }

    @Test
    void goodPngAndJpegRecordsDecode() {
        byte[] px = new byte[3072];
        new Random(4).nextBytes(px);
        Sample s = new Sample(5, 1, 3, 32, 32, px);
        for (ImageEncoding e : ImageEncoding.values()) {
            ImageRecord r = ImageRecord.of(s, 2, e);
            LabelledImage out = rules.decode(new KafkaImage(r.key(), new ImageRecordSerde(10).encode(r), "t", 0, 1));
            assertThat(out.id()).isEqualTo(5);
            assertThat(out.epoch()).isEqualTo(2);
        }
    }

    private static KafkaImage deserialized(byte[] key, byte[] value) {
        List<KafkaImage> out = new java.util.ArrayList<>();
        new KafkaImageDeserializer(TrainingRecords.maxValueBytes(3, 32, 32)).deserialize(
                new org.apache.kafka.clients.consumer.ConsumerRecord<>("t", 0, 0L, key, value), new org.apache.flink.util.Collector<>() {
                    @Override
                    public void collect(KafkaImage record) {
                        out.add(record);
                    }

                    @Override
                    public void close() {
                    }
                });
        return out.get(0);
    }
}
