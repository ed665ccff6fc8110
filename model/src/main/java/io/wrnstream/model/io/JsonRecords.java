package io.wrnstream.model.io;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.BeanDescription;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.deser.std.StdDeserializer;
import com.fasterxml.jackson.databind.introspect.BeanPropertyDefinition;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.ser.std.StdSerializer;
import java.io.IOException;
import java.util.Objects;

/**
 * Versioned JSON lines of fixed records, written and read by Jackson: each line is one JSON object whose first field,
 * {@code format}, names the record and the version of its layout ({@code "wrn-stream.eval/1"}), followed by the
 * record's components in snake case ({@code imagesSeen} is {@code images_seen}; {@code @JsonProperty} renames one).
 * A non-finite {@code double} is written as {@code null} and read back as NaN.
 *
 * <p>Reading checks the format first (an unknown one fails naming it and the one this build reads), then that every
 * field is there (a missing one fails naming it), then binds the record; fields a reader does not know are ignored,
 * so a later build may add some within the same version.
 *
 * <pre>{@code
 * String line = JsonRecords.write(Evaluation.FORMAT, evaluation);
 * Evaluation back = JsonRecords.read(line, Evaluation.FORMAT, "evaluation record", Evaluation.class);
 * }</pre>
 */
public final class JsonRecords {
    /** Name of the field that holds the format. */
    public static final String FORMAT_FIELD = "format";

    private static final ObjectMapper MAPPER = mapper();

    private JsonRecords() {}

    private static ObjectMapper mapper() {
        SimpleModule nonFinite = new SimpleModule("non-finite doubles as null");
        StdSerializer<Double> asNull = new StdSerializer<>(Double.class) {
            @Override
            public void serialize(Double v, JsonGenerator g, SerializerProvider p) throws IOException {
                if (v == null || !Double.isFinite(v)) g.writeNull(); else g.writeNumber(v);
            }
        };
        nonFinite.addSerializer(Double.class, asNull);
        nonFinite.addSerializer(Double.TYPE, asNull);
        nonFinite.addDeserializer(Double.TYPE, new StdDeserializer<Double>(Double.TYPE) {
            @Override
            public Double deserialize(JsonParser p, DeserializationContext c) throws IOException {
                return p.getValueAsDouble(Double.NaN);
            }

            @Override
            public Double getNullValue(DeserializationContext c) {
                return Double.NaN;
            }
        });
        return JsonMapper.builder()
                .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
                .addModule(nonFinite)
                .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
                .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
                .build();
    }

    /** {@code record} as one line of JSON, {@code "format": format} first. */
    public static String write(String format, Object record) {
        Objects.requireNonNull(format, "format");
        ObjectNode n = MAPPER.createObjectNode().put(FORMAT_FIELD, format);
        n.setAll((ObjectNode) MAPPER.valueToTree(record));
        try {
            return MAPPER.writeValueAsString(n);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("Cannot write " + record.getClass().getSimpleName() + " as JSON", e);
        }
    }

    /**
     * Parses one line into a JSON object.
     *
     * @param what what the line should be, for messages ({@code "evaluation record"})
     * @throws IllegalArgumentException when it is not a JSON object
     */
    public static ObjectNode tree(String json, String what) {
        JsonNode n;
        try {
            n = MAPPER.readTree(json);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("Invalid " + what + ": not JSON: " + e.getOriginalMessage());
        }
        if (!(n instanceof ObjectNode o)) throw new IllegalArgumentException("Invalid " + what + ": not a JSON object");
        return o;
    }

    /** The {@code format} of a line, or null when it is not a JSON object with a textual format (for mixed streams). */
    public static String formatOf(String json) {
        try {
            JsonNode n = MAPPER.readTree(json);
            JsonNode f = n == null ? null : n.get(FORMAT_FIELD);
            return f != null && f.isTextual() ? f.asText() : null;
        } catch (JsonProcessingException e) {
            return null;
        }
    }

    /**
     * Reads a line written by {@link #write} with {@code format}.
     *
     * @throws IllegalArgumentException when it is not JSON, has another or no format, or lacks a field, naming it
     */
    public static <T> T read(String json, String format, String what, Class<T> type) {
        return read(tree(json, what), format, what, type);
    }

    /** Like {@link #read(String, String, String, Class)} on a parsed object. */
    public static <T> T read(ObjectNode n, String format, String what, Class<T> type) {
        JsonNode f = n.get(FORMAT_FIELD);
        if (f == null || f.isNull()) {
            throw new IllegalArgumentException("Invalid " + what + ": field '" + FORMAT_FIELD + "' is missing (this build reads " + format + ")");
        }
        if (!f.isTextual() || !f.asText().equals(format)) {
            throw new IllegalArgumentException("Unknown " + what + " format " + f + ": this build reads \"" + format + "\"");
        }
        BeanDescription d = MAPPER.getDeserializationConfig().introspect(MAPPER.constructType(type));
        for (BeanPropertyDefinition p : d.findProperties()) {
            if (!p.hasConstructorParameter()) continue;
            JsonNode v = n.get(p.getName());
            Class<?> t = p.getRawPrimaryType();
            boolean nullable = t == double.class || !t.isPrimitive() && t != String.class && !t.isEnum();
            if (v == null || v.isNull() && !nullable) {
                throw new IllegalArgumentException("Invalid " + what + ": field '" + p.getName() + "' is missing");
            }
        }
        try {
            return MAPPER.treeToValue(n, type);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("Invalid " + what + ": " + e.getOriginalMessage());
        } catch (IllegalArgumentException e) {
            // a record's own validation
            throw new IllegalArgumentException("Invalid " + what + ": " + e.getMessage(), e);
        }
    }
}
