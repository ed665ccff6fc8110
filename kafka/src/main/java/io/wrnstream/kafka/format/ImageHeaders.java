package io.wrnstream.kafka.format;

import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.Optional;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;

/**
 * Names and helpers for the Kafka headers of image records. Header values are UTF-8 strings. They describe the
 * stream for people and tools; consumers must not need them to decode a value.
 */
public final class ImageHeaders {

    /** Dataset split the record came from: {@code train} or {@code test}. */
    public static final String SPLIT = "wrn.split";
    /** Where the record came from, for example the dataset file name {@code cifar10-test-jpeg.zip}. */
    public static final String SOURCE = "wrn.source";
    /** Name and version of the value format, {@link #FORMAT_VALUE}. */
    public static final String FORMAT = "wrn.format";
    /** The {@link #FORMAT} header value for records written by {@link ImageRecordSerde}. */
    public static final String FORMAT_VALUE = "wrn-image/" + ImageRecordSerde.VERSION;

    private ImageHeaders() {
    }

    /** New headers holding the split, the source and the format. */
    public static Headers of(String split, String source) {
        RecordHeaders headers = new RecordHeaders();
        headers.add(SPLIT, utf8(Objects.requireNonNull(split, "split")));
        headers.add(SOURCE, utf8(Objects.requireNonNull(source, "source")));
        headers.add(FORMAT, utf8(FORMAT_VALUE));
        return headers;
    }

    /** The last value of header {@code name} as a string, if present. */
    public static Optional<String> read(Headers headers, String name) {
        if (headers == null) return Optional.empty();
        Header h = headers.lastHeader(name);
        return h == null || h.value() == null ? Optional.empty()
                : Optional.of(new String(h.value(), StandardCharsets.UTF_8));
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
