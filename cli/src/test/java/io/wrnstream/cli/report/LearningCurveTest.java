package io.wrnstream.cli.report;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.wrnstream.cli.TrainEvaluation;
import io.wrnstream.jobs.eval.Evaluation;
import io.wrnstream.jobs.train.TrainerEvent;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The report reads the versioned records of the job and of {@code train}, and refuses a format it does not know. */
class LearningCurveTest {

    @Test
    void readsTheJobsAndTrainsVersionedRecordsAndSkipsOtherRecords() {
        String job = new Evaluation(2, 200, 25_600, 0.512, 0.61, 1.7, 1000, 1_000L, 90).toJson();
        String offline = new TrainEvaluation(100, 12_800, 0.256, 0.7, 2.1, 1000, 1.5, 20.0).toJson();
        String event = new TrainerEvent(TrainerEvent.Kind.STEP, -1, 150, 19_200, 1.9, 0.3, 0.1, 0, 500, 2L, 0L).toJson();
        LearningCurve c = LearningCurve.parse(List.of(job, offline, event));
        assertThat(c.points()).extracting(EvalPoint::step).containsExactly(100L, 200L);
        assertThat(c.last().modelVersion()).isEqualTo(2);
        assertThat(c.points().get(0).images()).isEqualTo(1000);
        assertThat(c.skipped()).isEqualTo(1);
    }

    @Test
    void anUnknownFormatFailsNamingIt() {
        assertThatThrownBy(() -> LearningCurve.parse(List.of("{\"format\":\"wrn-stream.eval/2\",\"step\":1}")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("Unknown format \"wrn-stream.eval/2\" in the evaluation lines: this build reads wrn-stream.eval/1, wrn-stream.train-eval/2 and "
                        + "wrn-stream.train-eval/1");
    }
}
