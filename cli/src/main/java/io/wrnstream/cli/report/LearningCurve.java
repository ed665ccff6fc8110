package io.wrnstream.cli.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.wrnstream.cli.TrainEvaluation;
import io.wrnstream.cli.train.EvalRecord;
import io.wrnstream.jobs.eval.Evaluation;
import io.wrnstream.jobs.train.TrainerEvent;
import io.wrnstream.kafka.update.ModelUpdate;
import io.wrnstream.model.io.JsonRecords;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The evaluations of one run, ordered by images seen, parsed from JSON lines: the job's results
 * ({@code {"step":..,"images_seen":..,"epochs":..,"test_error":..,"test_loss":..,"images":..,"model_version":..,"wall_ms":..}})
 * or the offline {@code train} and {@code reproduce} commands' ({@code test_images} instead of {@code images}, plus
 * {@code train_loss}). A line with a {@code format} is read as that record ({@value Evaluation#FORMAT},
 * {@value EvalRecord#FORMAT}, and {@value TrainEvaluation#FORMAT} as earlier builds wrote it; other records of the
 * project are skipped, an unknown format fails naming it); lines without one are read by their field names, as the
 * first builds wrote them. Lines that are not evaluations are counted and skipped; a line with a {@code config} field
 * (object or text) supplies the configuration.
 *
 * @param points evaluations by images seen (a repeated step keeps its last line)
 * @param skipped lines that were not evaluations
 * @param config configuration text found in the stream, or null
 */
public record LearningCurve(List<EvalPoint> points, int skipped, String config) {
    private static final ObjectMapper JSON = new ObjectMapper();

    public LearningCurve {
        points = List.copyOf(points);
    }

    /** Parses JSON lines. */
    public static LearningCurve parse(BufferedReader lines) {
        List<String> all = new ArrayList<>();
        try {
            for (String l = lines.readLine(); l != null; l = lines.readLine()) all.add(l);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read the evaluation lines", e);
        }
        return parse(all);
    }

    /** Parses JSON lines. */
    public static LearningCurve parse(List<String> lines) {
        Map<Long, EvalPoint> byStep = new LinkedHashMap<>();
        int skipped = 0;
        String config = null;
        for (String line : lines) {
            if (line.isBlank()) continue;
            JsonNode n;
            try {
                n = JSON.readTree(line);
            } catch (IOException e) {
                skipped++;
                continue;
            }
            if (n == null || !n.isObject()) {
                skipped++;
                continue;
            }
            if (n.has(JsonRecords.FORMAT_FIELD)) {
                EvalPoint p = versioned(n, line);
                if (p == null) skipped++; else byStep.put(p.step(), p);
                continue;
            }
            if (n.has("config")) {
                JsonNode c = n.get("config");
                config = c.isTextual() ? c.asText() : c.toPrettyString();
            }
            if (!isNumber(n, "step") || !isNumber(n, "images_seen") || !isNumber(n, "test_error")) {
                if (!n.has("config")) skipped++;
                continue;
            }
            long images = isNumber(n, "images") ? n.get("images").asLong() : isNumber(n, "test_images") ? n.get("test_images").asLong() : -1;
            EvalPoint p = new EvalPoint(n.get("step").asLong(), n.get("images_seen").asLong(), num(n, "epochs"), n.get("test_error").asDouble(),
                    num(n, "test_loss"), images, isNumber(n, "model_version") ? n.get("model_version").asLong() : -1,
                    isNumber(n, "wall_ms") ? n.get("wall_ms").asLong() : -1, num(n, "train_loss"));
            byStep.put(p.step(), p);
        }
        List<EvalPoint> points = new ArrayList<>(byStep.values());
        points.sort(Comparator.comparingLong(EvalPoint::imagesSeen).thenComparingLong(EvalPoint::step));
        return new LearningCurve(points, skipped, config);
    }

    /** Formats that are not evaluations but may share a stream with them: skipped. */
    private static final Set<String> OTHER_FORMATS = Set.of(TrainerEvent.FORMAT, ModelUpdate.FORMAT, io.wrnstream.cli.demo.Demo.TRAINED_FORMAT);

    /** The evaluation of a line with a format, null for a known non-evaluation; an unknown format fails naming it. */
    private static EvalPoint versioned(JsonNode n, String line) {
        String format = n.get(JsonRecords.FORMAT_FIELD).asText();
        if (format.equals(Evaluation.FORMAT)) {
            Evaluation e = Evaluation.fromJson(line);
            return new EvalPoint(e.step(), e.imagesSeen(), e.epochs(), e.testError(), e.testLoss(), e.images(), e.modelVersion(), e.wallMs(), Double.NaN);
        }
        if (format.equals(TrainEvaluation.FORMAT)) {
            TrainEvaluation e = TrainEvaluation.fromJson(line);
            return new EvalPoint(e.step(), e.imagesSeen(), e.epochs(), e.testError(), e.testLoss(), e.testImages(), -1, -1, Double.NaN);
        }
        if (format.equals(EvalRecord.FORMAT)) {
            EvalRecord e = EvalRecord.parse(line);
            return new EvalPoint(e.step(), e.imagesSeen(), e.epochs(), e.testError(), e.testLoss(), e.testImages(), -1, e.wallMs(),
                    e.trainLoss() == null ? Double.NaN : e.trainLoss());
        }
        if (OTHER_FORMATS.contains(format)) return null;
        throw new IllegalArgumentException("Unknown format " + n.get(JsonRecords.FORMAT_FIELD) + " in the evaluation lines: this build reads "
                + Evaluation.FORMAT + ", " + EvalRecord.FORMAT + " and " + TrainEvaluation.FORMAT + " (and skips " + new TreeSet<>(OTHER_FORMATS) + ")");
    }

    private static boolean isNumber(JsonNode n, String field) {
        return n.has(field) && n.get(field).isNumber();
    }

    private static double num(JsonNode n, String field) {
        return isNumber(n, field) ? n.get(field).asDouble() : Double.NaN;
    }

    /** The evaluation with the lowest test error (the earliest of equals), or null when empty. */
    public EvalPoint best() {
        EvalPoint best = null;
        for (EvalPoint p : points) if (best == null || p.testError() < best.testError()) best = p;
        return best;
    }

    /** The last evaluation, or null when empty. */
    public EvalPoint last() {
        return points.isEmpty() ? null : points.get(points.size() - 1);
    }
}
