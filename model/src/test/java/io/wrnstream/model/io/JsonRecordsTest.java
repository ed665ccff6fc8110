package io.wrnstream.model.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class JsonRecordsTest {
    record Point(long stepCount, double value, Double optional, String name) {}

    private static final String FORMAT = "wrn-stream.point/1";

    @Test
    void writesTheFormatFirstInSnakeCaseAndReadsItBack() {
        Point p = new Point(3, 0.25, null, "a");
        String json = JsonRecords.write(FORMAT, p);
        assertThat(json).isEqualTo("{\"format\":\"wrn-stream.point/1\",\"step_count\":3,\"value\":0.25,\"optional\":null,\"name\":\"a\"}");
        assertThat(JsonRecords.read(json, FORMAT, "point", Point.class)).isEqualTo(p);
        assertThat(JsonRecords.formatOf(json)).isEqualTo(FORMAT);
        assertThat(JsonRecords.formatOf("[1]")).isNull();
    }

    @Test
    void nonFiniteDoublesAreNullAndComeBackAsNaN() {
        String json = JsonRecords.write(FORMAT, new Point(1, Double.POSITIVE_INFINITY, Double.NaN, "b"));
        assertThat(json).contains("\"value\":null", "\"optional\":null");
        Point back = JsonRecords.read(json, FORMAT, "point", Point.class);
        assertThat(back.value()).isNaN();
        assertThat(back.optional()).isNull();
    }

    @Test
    void unknownFormatsMissingFieldsAndNonJsonFailNamingThem() {
        String json = JsonRecords.write(FORMAT, new Point(1, 1, 1.0, "c"));
        assertThatThrownBy(() -> JsonRecords.read(json, "wrn-stream.point/2", "point", Point.class))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Unknown point format \"wrn-stream.point/1\": this build reads \"wrn-stream.point/2\"");
        assertThatThrownBy(() -> JsonRecords.read(json.replace("\"name\":\"c\"", "\"name\":null"), FORMAT, "point", Point.class))
                .hasMessage("Invalid point: field 'name' is missing");
        assertThatThrownBy(() -> JsonRecords.read(json.replace("step_count", "steps"), FORMAT, "point", Point.class))
                .hasMessage("Invalid point: field 'step_count' is missing");
        assertThatThrownBy(() -> JsonRecords.read("{", FORMAT, "point", Point.class)).hasMessageStartingWith("Invalid point: not JSON");
        assertThat(JsonRecords.read(json.replace("}", ",\"later\":1}"), FORMAT, "point", Point.class).name())
                .as("fields a reader does not know are ignored").isEqualTo("c");
    }
}
