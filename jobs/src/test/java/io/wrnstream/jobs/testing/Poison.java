package io.wrnstream.jobs.testing;

import io.wrnstream.jobs.decode.TrainingRecords;
import io.wrnstream.kafka.format.ImageCodec;
import io.wrnstream.kafka.format.ImageEncoding;
import io.wrnstream.kafka.format.ImageRecord;
import io.wrnstream.kafka.format.ImageRecordSerde;
import io.wrnstream.model.data.ImageBombs;
import io.wrnstream.model.data.Sample;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Properties;
import java.util.SplittableRandom;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * The poison corpus: records a hostile or broken producer can write to a training topic of 3x32x32 images with 10
 * classes, each with the dead-letter reason it must get. Bombs and sizes sit near each limit. Ids start at 900,000
 * so they never collide with the good images.
 */
public final class Poison {

    /** One poison record. */
    public record Kind(String name, byte[] key, byte[] value, String reason) {
        @Override
        public String toString() {
            return name + " -> " + reason;
        }
    }

    private static final ImageRecordSerde ANY = new ImageRecordSerde();

    private Poison() {}

    /** Every kind, at least 20. */
    public static List<Kind> corpus() {
        List<Kind> k = new ArrayList<>();
        SplittableRandom r = new SplittableRandom(99);
        long id = 900_000;
        k.add(new Kind("empty value", key(id), new byte[0], "EMPTY_VALUE"));
        k.add(new Kind("tombstone", key(++id), null, "EMPTY_VALUE"));
        k.add(new Kind("null key", null, raw(++id, 1, 3, 32, 32, r), "BAD_ID"));
        k.add(new Kind("4-byte key", new byte[] {0, 0, 0, 1}, raw(++id, 1, 3, 32, 32, r), "BAD_ID"));
        long other = ++id;
        k.add(new Kind("key disagrees with id", key(other + 1_000), raw(other, 1, 3, 32, 32, r), "BAD_ID"));
        k.add(new Kind("not an image record", key(++id), "hello".getBytes(StandardCharsets.UTF_8), "BAD_MAGIC"));
        byte[] future = raw(++id, 1, 3, 32, 32, r);
        future[2] = 9;
        k.add(new Kind("format version 9", key(id), future, "UNKNOWN_VERSION"));
        byte[] enc = raw(++id, 1, 3, 32, 32, r);
        enc[3] = 7;
        k.add(new Kind("pixel encoding 7", key(id), enc, "UNKNOWN_ENCODING"));
        k.add(new Kind("10-byte header", key(++id), Arrays.copyOf(raw(id, 1, 3, 32, 32, r), 10), "TRUNCATED"));
        k.add(new Kind("payload cut short", key(++id), Arrays.copyOf(raw(id, 1, 3, 32, 32, r), 28 + 100), "TRUNCATED"));
        byte[] extra = Arrays.copyOf(raw(++id, 1, 3, 32, 32, r), 28 + 3072 + 5);
        k.add(new Kind("trailing bytes", key(id), extra, "SIZE_MISMATCH"));
        byte[] negative = raw(++id, 1, 3, 32, 32, r);
        ByteBuffer.wrap(negative).putInt(24, -5);
        k.add(new Kind("negative payload length", key(id), negative, "SIZE_MISMATCH"));
        byte[] rawShort = raw(++id, 1, 3, 32, 32, r);
        ByteBuffer.wrap(rawShort).putShort(18, (short) 31); // width 31: 3*32*31 != 3072 payload bytes
        k.add(new Kind("raw payload of another shape", key(id), rawShort, "SIZE_MISMATCH"));
        k.add(new Kind("1x28x28 image", key(++id), raw(id, 1, 1, 28, 28, r), "BAD_SHAPE"));
        byte[] zeroWidth = raw(++id, 1, 3, 32, 32, r);
        ByteBuffer.wrap(zeroWidth).putShort(18, (short) 0);
        k.add(new Kind("zero width", key(id), zeroWidth, "BAD_SHAPE"));
        k.add(new Kind("label 12 of 10 classes", key(++id), raw(id, 12, 3, 32, 32, r), "LABEL_OUT_OF_RANGE"));
        k.add(new Kind("negative sample id", key(-3), raw(-3, 1, 3, 32, 32, r), "BAD_ID"));
        k.add(new Kind("garbage labelled JPEG", key(++id), encoded(id, ImageEncoding.JPEG, "definitely not a jpeg".getBytes(StandardCharsets.UTF_8)),
                "UNDECODABLE_IMAGE"));
        byte[] jpeg = ImageCodec.encode(sample(id, r), ImageEncoding.JPEG);
        k.add(new Kind("JPEG bytes labelled PNG", key(++id), encoded(id, ImageEncoding.PNG, jpeg), "ENCODING_MISMATCH"));
        k.add(new Kind("PNG bomb 32000x32000 (truncated IDAT)", key(++id), encoded(id, ImageEncoding.PNG, pngBomb(32_000, 32_000, 0)), "BAD_SHAPE"));
        k.add(new Kind("PNG bomb 46000x46000 colour", key(++id), encoded(id, ImageEncoding.PNG, pngBomb(46_000, 46_000, 2)), "BAD_SHAPE"));
        byte[] sof = ImageCodec.encode(sample(id, r), ImageEncoding.JPEG);
        patchSof(sof, 65_535, 65_535);
        k.add(new Kind("JPEG SOF patched to 65535x65535", key(++id), encoded(id, ImageEncoding.JPEG, sof), "BAD_SHAPE"));
        byte[] grey = ImageCodec.encode(new Sample(id, 1, 1, 32, 32, new byte[32 * 32]), ImageEncoding.PNG);
        k.add(new Kind("grey PNG in a colour record", key(++id), encoded(id, ImageEncoding.PNG, grey), "BAD_SHAPE"));
        byte[] png = ImageCodec.encode(sample(id, r), ImageEncoding.PNG);
        k.add(new Kind("PNG cut after its header", key(++id), encoded(id, ImageEncoding.PNG, Arrays.copyOf(png, 60)), "UNDECODABLE_IMAGE"));
        byte[] lossless = {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF, (byte) 0xC3, 0, 11, 8, 0, 32, 0, 32, 3, 0, 0, 0, 0};
        k.add(new Kind("lossless JPEG (SOF3)", key(++id), encoded(id, ImageEncoding.JPEG, lossless), "UNDECODABLE_IMAGE"));
        int max = TrainingRecords.maxValueBytes(3, 32, 32);
        k.add(new Kind("value one byte above the training bound", key(++id), filler(id, max + 1 - 28), "TOO_LARGE"));
        k.add(new Kind("value near the broker's 1 MB limit", key(++id), filler(id, 1_040_000), "TOO_LARGE"));
        k.add(new Kind("value within the bound, dead letter above the DLQ limit", key(++id), versioned(filler(id, max - 28 - 16), 9),
                "UNKNOWN_VERSION"));
        return k;
    }

    /** Publishes the corpus to {@code topic}; the producer may send records up to 2 MB. */
    public static List<Kind> publish(String bootstrapServers, String topic) throws Exception {
        List<Kind> corpus = corpus();
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrapServers);
        p.put("max.request.size", String.valueOf(2 << 20));
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
            for (Kind kind : corpus) producer.send(new ProducerRecord<>(topic, kind.key(), kind.value())).get();
        }
        return corpus;
    }

    private static byte[] key(long id) {
        return ImageRecordSerde.key(id);
    }

    private static Sample sample(long id, SplittableRandom r) {
        byte[] px = new byte[3 * 32 * 32];
        r.nextBytes(px);
        return new Sample(id, 1, 3, 32, 32, px);
    }

    /** A valid raw record value of any shape and label (ids below 0 written past the record's own checks). */
    private static byte[] raw(long id, int label, int c, int h, int w, SplittableRandom r) {
        byte[] px = new byte[c * h * w];
        r.nextBytes(px);
        byte[] v = ANY.encode(ImageRecord.raw(new Sample(Math.max(id, 0), label, c, h, w, px), 0));
        ByteBuffer.wrap(v).putLong(4, id);
        return v;
    }

    /** A 3x32x32 record value declaring {@code encoding} with any payload. */
    private static byte[] encoded(long id, ImageEncoding encoding, byte[] payload) {
        return ANY.encode(new ImageRecord(id, 0, 1, 32, 32, 3, encoding, payload));
    }

    private static byte[] filler(long id, int payloadBytes) {
        return encoded(id, ImageEncoding.PNG, new byte[payloadBytes]);
    }

    private static byte[] versioned(byte[] v, int version) {
        v[2] = (byte) version;
        return v;
    }

    /** A PNG declaring {@code w x h} (colour type 0 grey or 2 RGB) with one row of zeros. */
    public static byte[] pngBomb(int w, int h, int colourType) {
        return ImageBombs.png(w, h, colourType);
    }

    private static void patchSof(byte[] jpeg, int height, int width) {
        ImageBombs.patchSof(jpeg, height, width);
    }
}
