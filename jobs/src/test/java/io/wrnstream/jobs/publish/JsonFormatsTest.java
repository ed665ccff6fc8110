package io.wrnstream.jobs.publish;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.wrnstream.jobs.eval.Evaluation;
import io.wrnstream.jobs.train.TrainerEvent;
import org.junit.jupiter.api.Test;

/** The JSON lines the job publishes: fixed records through Jackson, each with its versioned format first. */
class JsonFormatsTest {
    private static final Evaluation EVAL = new Evaluation(3, 120, 15_360, 0.3072, 0.4375, 1.2345, 500, 1_700_000_000_000L, 812);
    private static final TrainerEvent STEP = new TrainerEvent(TrainerEvent.Kind.STEP, -1, 40, 5120, 1.75, 0.375, 0.1, 0, 612.5, 42L, 0L);

    @Test
    void evaluationRecordsCarryTheirFormatAndRoundTrip() {
        String json = EVAL.toJson();
        assertThat(json).startsWith("{\"format\":\"wrn-stream.eval/1\",")
                .contains("\"model_version\":3", "\"images_seen\":15360", "\"test_error\":0.4375", "\"eval_ms\":812");
        assertThat(Evaluation.fromJson(json)).isEqualTo(EVAL);
        Evaluation noLoss = new Evaluation(1, 1, 1, 0, 1, Double.NaN, 1, 1, 1);
        assertThat(noLoss.toJson()).contains("\"test_loss\":null");
        assertThat(Evaluation.fromJson(noLoss.toJson()).testLoss()).isNaN();
    }

    @Test
    void trainerEventsKeepTheirFieldNamesAndRoundTrip() {
        String json = STEP.toJson();
        assertThat(json).startsWith("{\"format\":\"wrn-stream.trainer-event/1\",\"event\":\"STEP\",\"checkpoint\":-1,")
                .contains("\"lr\":0.1", "\"state_crc\":0", "\"images_per_s\":612.5", "\"wall_ms\":42");
        assertThat(TrainerEvent.fromJson(json)).isEqualTo(STEP);
        TrainerEvent done = new TrainerEvent(TrainerEvent.Kind.FINISHED, -1, 40, 5120, Double.NaN, Double.NaN, 0.1, 0, 0, 43L, 0L);
        assertThat(TrainerEvent.fromJson(done.toJson()).loss()).isNaN();
    }

    @Test
    void unknownFormatsAndMissingFieldsFailNamingThem() {
        String json = EVAL.toJson();
        assertThatThrownBy(() -> Evaluation.fromJson(json.replace("wrn-stream.eval/1", "wrn-stream.eval/2")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Unknown evaluation record format \"wrn-stream.eval/2\": this build reads \"wrn-stream.eval/1\"");
        assertThatThrownBy(() -> TrainerEvent.fromJson(json))
                .hasMessage("Unknown trainer event format \"wrn-stream.eval/1\": this build reads \"wrn-stream.trainer-event/1\"");
        assertThatThrownBy(() -> Evaluation.fromJson(json.replace("\"images_seen\"", "\"seen\"")))
                .hasMessage("Invalid evaluation record: field 'images_seen' is missing");
        assertThatThrownBy(() -> Evaluation.fromJson("{\"step\":1}"))
                .hasMessage("Invalid evaluation record: field 'format' is missing (this build reads wrn-stream.eval/1)");
        assertThatThrownBy(() -> TrainerEvent.fromJson("{oops")).hasMessageStartingWith("Invalid trainer event: not JSON");
        assertThatThrownBy(() -> TrainerEvent.fromJson(STEP.toJson().replace("\"STEP\"", "\"JUMP\"")))
                .hasMessageStartingWith("Invalid trainer event: ");
    }
}
