package io.wrnstream.cli.reproduce;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** The experiments shipped with wrn-stream (resources {@code experiments/NAME.yaml}), and the lookup of NAME or FILE. */
public final class Experiments {
    /** Names of the shipped experiments, in the order {@code --list} prints them. */
    public static final List<String> SHIPPED = List.of("width-vs-depth", "dropout", "width");

    private Experiments() {}

    /** A shipped experiment by name. */
    public static Experiment shipped(String name) {
        if (!SHIPPED.contains(name)) {
            throw new IllegalArgumentException("Invalid value '" + name + "' for --experiment: must be one of " + SHIPPED + " or a YAML file");
        }
        String resource = "/experiments/" + name + ".yaml";
        try (InputStream in = Experiments.class.getResourceAsStream(resource)) {
            if (in == null) throw new IllegalStateException("Shipped experiment " + resource + " is missing from the classpath");
            return Experiment.read(name + ".yaml (shipped)", in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A shipped experiment's name, or the path of the user's own file. */
    public static Experiment resolve(String nameOrFile) {
        if (SHIPPED.contains(nameOrFile)) return shipped(nameOrFile);
        Path file = Path.of(nameOrFile);
        if (Files.isRegularFile(file)) return Experiment.read(file);
        throw new IllegalArgumentException("Invalid value '" + nameOrFile + "' for --experiment: must be one of " + SHIPPED
                + " or an experiment file (YAML, format " + Experiment.FORMAT + ")");
    }

    /** One line per shipped experiment: name, arms and title. */
    public static List<String> listing() {
        return SHIPPED.stream().map(n -> {
            Experiment e = shipped(n);
            return String.format(java.util.Locale.ROOT, "%-15s %d arms  %s", n, e.arms().size(), e.title());
        }).toList();
    }
}
