package io.wrnstream.cli.reproduce;

import io.wrnstream.cli.train.EvalRecord;
import io.wrnstream.model.engine.TrainConfig;
import io.wrnstream.model.io.ModelFile;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * One arm's folder under the experiment's output: {@code model.wrn} (the model after its latest evaluation, written
 * atomically) and {@code evaluations.jsonl} (one {@link EvalRecord} line per evaluation). Together they let an
 * interrupted run continue where it stopped: the model resumes, and evaluation lines newer than it are dropped.
 */
final class ArmFolder {
    final Path dir;
    final Path model;
    final Path evaluations;

    ArmFolder(Path experimentOut, String arm) {
        this.dir = experimentOut.resolve("arms").resolve(arm);
        this.model = dir.resolve("model.wrn");
        this.evaluations = dir.resolve("evaluations.jsonl");
    }

    /** The saved model, or null when the arm has not started. */
    ModelFile.Loaded saved() {
        return Files.isRegularFile(model) ? ModelFile.load(model) : null;
    }

    /**
     * The evaluation lines up to {@code imagesSeen} (a model saved at that point), rewriting the file without any later
     * line (written after the model was saved, so lost on resume).
     */
    List<String> linesUpTo(long imagesSeen) {
        if (!Files.isRegularFile(evaluations)) return List.of();
        try {
            List<String> all = Files.readAllLines(evaluations, StandardCharsets.UTF_8);
            List<String> kept = new ArrayList<>();
            for (String l : all) {
                if (l.isBlank()) continue;
                if (imagesOf(l) <= imagesSeen) kept.add(l);
            }
            if (kept.size() != all.size()) Files.write(evaluations, kept, StandardCharsets.UTF_8);
            return kept;
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read " + evaluations, e);
        }
    }

    /** Appends one line. */
    void append(String json) {
        try {
            Files.createDirectories(dir);
            try (BufferedWriter w = Files.newBufferedWriter(evaluations, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                    StandardOpenOption.APPEND)) {
                w.write(json);
                w.newLine();
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot write " + evaluations, e);
        }
    }

    /**
     * Refuses to continue a saved model whose settings differ from this run's: naming each one.
     *
     * @throws IllegalStateException when model, dropout, batch size, seed, schedule or data size differ
     */
    void checkSame(TrainConfig saved, TrainConfig wanted) {
        List<String> d = new ArrayList<>();
        if (!saved.wrn().equals(wanted.wrn())) d.add("model " + describe(saved) + " (this run: " + describe(wanted) + ")");
        if (saved.batchSize() != wanted.batchSize()) d.add("batch size " + saved.batchSize() + " (this run: " + wanted.batchSize() + ")");
        if (saved.seed() != wanted.seed()) d.add("seed " + saved.seed() + " (this run: " + wanted.seed() + ")");
        if (saved.optim().epochSize() != wanted.optim().epochSize()) {
            d.add("epoch size " + saved.optim().epochSize() + " images (this run: " + wanted.optim().epochSize() + ")");
        }
        if (!saved.optim().equals(wanted.optim()) && saved.optim().epochSize() == wanted.optim().epochSize()) {
            d.add(String.format(Locale.ROOT, "schedule of %s epochs at lr %s (this run: %s epochs at lr %s)", Budget.trim(saved.optim().epochs()),
                    Budget.trim(saved.optim().learningRate()), Budget.trim(wanted.optim().epochs()), Budget.trim(wanted.optim().learningRate())));
        }
        if (!d.isEmpty()) {
            throw new IllegalStateException("Cannot continue " + model + ": it was trained with " + String.join(", ", d)
                    + ". Give the same budget and options as the interrupted run, or another --out");
        }
    }

    private static String describe(TrainConfig c) {
        return c.wrn().name() + (c.wrn().dropout() > 0 ? " dropout " + Budget.trim(c.wrn().dropout()) : "") + " on "
                + c.wrn().channels() + "x" + c.wrn().height() + "x" + c.wrn().width() + "/" + c.wrn().classes() + " classes";
    }

    static long imagesOf(String line) {
        try {
            return new com.fasterxml.jackson.databind.ObjectMapper().readTree(line).path("images_seen").asLong(Long.MAX_VALUE);
        } catch (IOException e) {
            return Long.MAX_VALUE;
        }
    }

    static double elapsedOf(String line) {
        try {
            return new com.fasterxml.jackson.databind.ObjectMapper().readTree(line).path("elapsed_seconds").asDouble(0);
        } catch (IOException e) {
            return 0;
        }
    }
}
