package io.wrnstream.cli.reproduce;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** The experiment files: the shipped ones, the paper's figures in them, and every validation rule's message. */
class ExperimentTest {
    private static final String MINIMAL = """
            format: wrn-stream.experiment/1
            name: mine
            data: {path: data}
            seed: 7
            recipe: {lr: 0.1, schedule: step, batch-size: 8, epochs: 10}
            arms:
              - {name: small, model: wrn-10-1, dropout: 0.0, paper: 9.5}
            """;

    @Test
    void shipsOneExperimentPerComparisonWithThePapersFigures() throws IOException {
        try (Stream<Path> files = Files.list(Path.of("src/main/resources/experiments"))) {
            assertThat(files.map(p -> p.getFileName().toString().replace(".yaml", "")).sorted())
                    .containsExactlyElementsOf(Experiments.SHIPPED.stream().sorted().toList());
        }
        Experiment wd = Experiments.shipped("width-vs-depth");
        assertThat(wd.arms()).extracting(Experiment.Arm::model).containsExactly("wrn-28-10", "wrn-40-1");
        assertThat(wd.arms()).extracting(Experiment.Arm::paper).containsExactly(4.00, 6.85);
        assertThat(wd.arms()).extracting(Experiment.Arm::reproduction).containsExactly(4.27, 6.89);

        Experiment dropout = Experiments.shipped("dropout");
        assertThat(dropout.arms()).extracting(Experiment.Arm::name).containsExactly("wrn-40-1", "wrn-40-1-dropout", "wrn-16-4", "wrn-16-4-dropout");
        assertThat(dropout.arms()).extracting(Experiment.Arm::dropout).containsExactly(0.0, 0.3, 0.0, 0.3);
        assertThat(dropout.arms()).extracting(Experiment.Arm::reference).containsExactly(6.65, 6.89, 5.02, 5.24);

        Experiment width = Experiments.shipped("width");
        assertThat(width.arms()).extracting(Experiment.Arm::paper).containsExactly(5.02, 4.27, 4.00, 3.89, 4.53);
        for (String name : Experiments.SHIPPED) {
            Experiment e = Experiments.shipped(name);
            assertThat(e.name()).isEqualTo(name);
            assertThat(e.recipe()).isEqualTo(new Experiment.Recipe(0.1, "step", 128, 200));
            assertThat(e.seed()).isEqualTo(42);
            assertThat(e.data().path()).isEqualTo("../shared/datasets/cifar10-jpeg");
        }
        assertThat(Experiments.listing()).hasSize(3).first().asString().startsWith("width-vs-depth  2 arms  Width against depth");
    }

    @Test
    void readsAUsersOwnFile() throws IOException {
        Path file = Files.writeString(Files.createTempFile("mine", ".yaml"), MINIMAL);
        Experiment e = Experiments.resolve(file.toString());
        assertThat(e.name()).isEqualTo("mine");
        assertThat(e.title()).isEqualTo("mine");
        assertThat(e.recipeOf(e.arms().get(0)).batchSize()).isEqualTo(8);
        assertThat(e.arms().get(0).reference()).isEqualTo(9.5);
    }

    @Test
    void rejectsWhatItCannotReadNamingIt() {
        assertThat(error(MINIMAL.replace("format: wrn-stream.experiment/1", "format: wrn-stream.experiment/2")))
                .isEqualTo("Experiment t.yaml: Invalid value 'wrn-stream.experiment/2' for format: this version reads wrn-stream.experiment/1");
        assertThat(error(MINIMAL.replace("seed: 7", "seed: 7\nepochs: 3")))
                .startsWith("Unknown field 'epochs' in experiment t.yaml: allowed fields there are [arms, data, description, format, name, recipe, seed, title]");
        assertThat(error(MINIMAL.replace("dropout: 0.0,", "dropout: 0.0, droput: 0.3,")))
                .startsWith("Unknown field 'droput' in experiment t.yaml (at arms[0]): allowed fields there are [dropout, model, name, paper, "
                        + "recipe, reproduction]");
        assertThat(error(MINIMAL.replace("wrn-10-1", "wrn-11-1")))
                .isEqualTo("Experiment t.yaml: arms[small].model: Invalid value 11 for wrn.depth: must be 6n+4 with n >= 1 (10, 16, 22, 28, 34, 40, ...)");
        assertThat(error(MINIMAL.replace("dropout: 0.0", "dropout: 1.5")))
                .isEqualTo("Experiment t.yaml: Invalid value 1.5 for arms[small].dropout: must be in [0, 1)");
        assertThat(error(MINIMAL.replace("paper: 9.5", "paper: 105")))
                .isEqualTo("Experiment t.yaml: Invalid value 105.0 for arms[small].paper: must be a test error in percent, in (0, 100)");
        assertThat(error(MINIMAL.replace("schedule: step", "schedule: linear")))
                .isEqualTo("Experiment t.yaml: Invalid value 'linear' for recipe.schedule: must be one of [step, cosine, constant]");
        assertThat(error(MINIMAL.replace("  - {name: small", "  - {name: small, model: wrn-10-1, dropout: 0.3}\n  - {name: small")))
                .isEqualTo("Experiment t.yaml: Invalid value 'small' for arms[].name: names must be unique");
        assertThatThrownBy(() -> Experiments.resolve("no-such-experiment")).hasMessage("Invalid value 'no-such-experiment' for --experiment: "
                + "must be one of [width-vs-depth, dropout, width] or an experiment file (YAML, format wrn-stream.experiment/1)");
        assertThatThrownBy(() -> Experiments.shipped("dropout").withArms(java.util.List.of("wrn-16-8"))).hasMessage("Invalid value 'wrn-16-8' "
                + "for --arms: experiment dropout has arms [wrn-40-1, wrn-40-1-dropout, wrn-16-4, wrn-16-4-dropout]");
    }

    private static String error(String yaml) {
        try {
            Experiment.read("t.yaml", new ByteArrayInputStream(yaml.getBytes(StandardCharsets.UTF_8)));
        } catch (IllegalArgumentException e) {
            return e.getMessage();
        }
        throw new AssertionError("accepted: " + yaml);
    }
}
