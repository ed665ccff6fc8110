package io.wrnstream.cli.reproduce;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.wrnstream.model.wrn.WrnConfig;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * One of the paper's comparisons, as a versioned, human-readable file (YAML, kebab-case fields): the data and seed,
 * the recipe, and the arms, each with the figure it is compared with. Read with {@link #read(String, InputStream)};
 * a file with another {@code format}, an unknown field or a bad value fails naming it.
 *
 * <pre>
 * format: wrn-stream.experiment/1
 * name: dropout
 * title: Dropout between the convolutions
 * data: {path: ../shared/datasets/cifar10-jpeg, dataset: CIFAR-10, preprocessing: mean/std}
 * seed: 42
 * recipe: {lr: 0.1, schedule: step, batch-size: 128, epochs: 200}
 * arms:
 *   - {name: wrn-16-4, model: wrn-16-4, dropout: 0.0, paper: 5.02}
 * </pre>
 *
 * @param format {@link #FORMAT}
 * @param name short name, {@code [a-z0-9-]+}
 * @param title one line for the report
 * @param description what the comparison shows and where its figures come from
 * @param data the dataset
 * @param seed master seed of every arm
 * @param recipe the recipe every arm follows unless it gives its own
 * @param arms the runs compared, at least one, names unique
 */
public record Experiment(String format, String name, String title, String description, Data data, long seed, Recipe recipe, List<Arm> arms) {
    /** The one format this version reads. */
    public static final String FORMAT = "wrn-stream.experiment/1";
    private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9-]*");
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory())
            .setPropertyNamingStrategy(PropertyNamingStrategies.KEBAB_CASE)
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES);

    public Experiment {
        if (!FORMAT.equals(format)) {
            throw new IllegalArgumentException("Invalid value '" + format + "' for format: this version reads " + FORMAT);
        }
        requireName(name, "name");
        title = title == null || title.isBlank() ? name : title.strip();
        description = description == null ? "" : description.strip();
        if (data == null) throw new IllegalArgumentException("Missing field data: give data: {path: ...}");
        if (recipe == null) throw new IllegalArgumentException("Missing field recipe: give recipe: {lr: 0.1, schedule: step, batch-size: 128, epochs: 200}");
        if (arms == null || arms.isEmpty()) throw new IllegalArgumentException("Missing field arms: give at least one arm");
        arms = List.copyOf(arms);
        Set<String> seen = new HashSet<>();
        for (Arm a : arms) {
            if (!seen.add(a.name())) throw new IllegalArgumentException("Invalid value '" + a.name() + "' for arms[].name: names must be unique");
        }
    }

    /**
     * The dataset.
     *
     * @param path dataset path (relative paths resolve against the working directory)
     * @param dataset what it is, for the report (e.g. CIFAR-10)
     * @param preprocessing normalisation and augmentation, for the report
     */
    public record Data(String path, String dataset, String preprocessing) {
        public Data {
            if (path == null || path.isBlank()) throw new IllegalArgumentException("Missing field data.path: give the dataset path");
            dataset = dataset == null ? "" : dataset;
            preprocessing = preprocessing == null ? "" : preprocessing;
        }
    }

    /**
     * The training recipe at its full length; a budget scales its schedule (milestones at 30/60/80% of the run).
     *
     * @param lr base learning rate, {@code > 0}
     * @param schedule step, cosine or constant
     * @param batchSize minibatch size, {@code >= 1}
     * @param epochs the full protocol's length (the paper: 200)
     */
    public record Recipe(double lr, String schedule, int batchSize, double epochs) {
        public static final List<String> SCHEDULES = List.of("step", "cosine", "constant");

        public Recipe {
            if (!(lr > 0) || Double.isInfinite(lr)) throw new IllegalArgumentException("Invalid value " + lr + " for recipe.lr: must be a number > 0");
            if (schedule == null || !SCHEDULES.contains(schedule)) {
                throw new IllegalArgumentException("Invalid value '" + schedule + "' for recipe.schedule: must be one of " + SCHEDULES);
            }
            if (batchSize < 1) throw new IllegalArgumentException("Invalid value " + batchSize + " for recipe.batch-size: must be >= 1");
            if (!(epochs > 0) || Double.isInfinite(epochs)) {
                throw new IllegalArgumentException("Invalid value " + epochs + " for recipe.epochs: must be a number > 0 (the paper: 200)");
            }
        }
    }

    /**
     * One run of the comparison.
     *
     * @param name short name, {@code [a-z0-9-]+}, also its folder under the output
     * @param model wrn-D-K
     * @param dropout dropout between the convolutions, in [0, 1)
     * @param recipe its own recipe, or null for the experiment's
     * @param paper the paper's CIFAR-10 test error in percent, or null when the paper gives none
     * @param reproduction a published reproduction's test error in percent, or null
     */
    public record Arm(String name, String model, double dropout, Recipe recipe, Double paper, Double reproduction) {
        public Arm {
            requireName(name, "arms[].name");
            try {
                WrnConfig.parse(model);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("arms[" + name + "].model: " + e.getMessage(), e);
            }
            if (!(dropout >= 0 && dropout < 1)) {
                throw new IllegalArgumentException("Invalid value " + dropout + " for arms[" + name + "].dropout: must be in [0, 1)");
            }
            checkPercent(paper, name, "paper");
            checkPercent(reproduction, name, "reproduction");
        }

        /** The figure this arm is compared with: the paper's, else the reproduction's (null when neither). */
        public Double reference() {
            return paper != null ? paper : reproduction;
        }

        /** This arm with another model (a reduced run: the figures stay, the report says whose they are). */
        public Arm withModel(String m) {
            return new Arm(name, m, dropout, recipe, paper, reproduction);
        }

        private static void checkPercent(Double v, String arm, String field) {
            if (v != null && !(v > 0 && v < 100)) {
                throw new IllegalArgumentException("Invalid value " + v + " for arms[" + arm + "]." + field + ": must be a test error in percent, in (0, 100)");
            }
        }
    }

    /** The recipe of {@code arm}: its own, else the experiment's. */
    public Recipe recipeOf(Arm arm) {
        return arm.recipe() != null ? arm.recipe() : recipe;
    }

    /** This experiment with only the arms named (in the file's order). */
    public Experiment withArms(List<String> names) {
        Set<String> known = arms.stream().map(Arm::name).collect(Collectors.toSet());
        for (String n : names) {
            if (!known.contains(n)) {
                throw new IllegalArgumentException("Invalid value '" + n + "' for --arms: experiment " + name + " has arms "
                        + arms.stream().map(Arm::name).toList());
            }
        }
        return new Experiment(format, name, title, description, data, seed, recipe, arms.stream().filter(a -> names.contains(a.name())).toList());
    }

    /** This experiment with every arm on model {@code m}. */
    public Experiment withModel(String m) {
        WrnConfig.parse(m);
        return new Experiment(format, name, title, description, data, seed, recipe, arms.stream().map(a -> a.withModel(m)).toList());
    }

    /**
     * Reads an experiment; {@code source} names it in errors.
     *
     * @throws IllegalArgumentException for another format, an unknown or missing field, or a bad value, naming it
     */
    public static Experiment read(String source, InputStream in) {
        try {
            Experiment e = YAML.readValue(in, Experiment.class);
            if (e == null) throw new IllegalArgumentException("Experiment file " + source + " is empty");
            return e;
        } catch (UnrecognizedPropertyException e) {
            String where = path(e.getPath().subList(0, Math.max(0, e.getPath().size() - 1)));
            throw new IllegalArgumentException("Unknown field '" + e.getPropertyName() + "' in experiment " + source + where
                    + ": allowed fields there are " + e.getKnownPropertyIds().stream().map(Object::toString).sorted().toList(), e);
        } catch (JsonMappingException e) {
            Throwable cause = e.getCause();
            if (cause instanceof IllegalArgumentException iae) {
                throw new IllegalArgumentException("Experiment " + source + ": " + iae.getMessage(), iae);
            }
            throw new IllegalArgumentException("Experiment " + source + " is not valid" + path(e) + ": " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new IllegalArgumentException("Experiment " + source + " is not valid YAML: " + e.getMessage(), e);
        }
    }

    /** Reads an experiment file. */
    public static Experiment read(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            return read(file.toString(), in);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read experiment file " + file, e);
        }
    }

    private static String path(JsonMappingException e) {
        return path(e.getPath());
    }

    private static String path(List<JsonMappingException.Reference> refs) {
        String p = refs.stream().map(r -> r.getFieldName() != null ? r.getFieldName() : "[" + r.getIndex() + "]")
                .collect(Collectors.joining(".")).replace(".[", "[");
        return p.isEmpty() ? "" : " (at " + p + ")";
    }

    private static void requireName(String n, String field) {
        if (n == null || !NAME.matcher(n).matches()) {
            throw new IllegalArgumentException("Invalid value '" + n + "' for " + field + ": must be lower-case letters, digits and '-'");
        }
    }

    /** Lower-case name, for matching. */
    static String key(String s) {
        return Objects.requireNonNull(s).toLowerCase(Locale.ROOT);
    }
}
