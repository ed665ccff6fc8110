package io.wrnstream.cli;

import io.wrnstream.model.engine.Engines;
import io.wrnstream.model.engine.TrainConfig;
import io.wrnstream.model.engine.TrainingEngine;
import io.wrnstream.model.wrn.WrnConfig;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code params}: the trainable-parameter count of a model spec, as the last line in JSON. */
@Command(name = "params", mixinStandardHelpOptions = true,
        description = "Print the trainable-parameter count of a WRN spec (last line: JSON).")
public final class ParamsCommand implements Callable<Integer> {

    @Option(names = "--model", defaultValue = io.wrnstream.model.Defaults.MODEL, description = "Model spec wrn-D-K (D = 6n+4, K >= 1). Default: ${DEFAULT-VALUE}.")
    String model;

    @Option(names = "--classes", defaultValue = "10", description = "Output classes. Default: ${DEFAULT-VALUE}.")
    int classes;

    @Option(names = "--input", defaultValue = "3x32x32", description = "Input shape CxHxW. Default: ${DEFAULT-VALUE}.")
    String input;

    @Option(names = "--verify", description = "Also build the DL4J network and check that it has exactly this many parameters.")
    boolean verify;

    @Override
    public Integer call() {
        int[] chw = parseShape(input);
        WrnConfig wrn = WrnConfig.parse(model).withInput(chw[0], chw[1], chw[2], classes);
        long analytic = wrn.trainableParameters();
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("model", wrn.name());
        out.put("input", input);
        out.put("classes", classes);
        out.put("params", analytic);
        // the one topology description, for tools outside the JVM (the PyTorch baseline of bin/gpu-check)
        out.put("blocks", wrn.topology().blocks().stream().map(b -> Map.of("name", b.name(), "in", b.in(), "out", b.out(),
                "stride", b.stride(), "projection", b.projection())).toList());
        if (verify) {
            try (TrainingEngine e = Engines.create(TrainConfig.paper(wrn))) {
                out.put("params_dl4j", e.parameterCount());
                out.put("match", e.parameterCount() == analytic);
            }
        }
        System.out.printf("%s: %,d trainable parameters%n", wrn.name(), analytic);
        System.out.println(Json.line(out));
        return verify && !Boolean.TRUE.equals(out.get("match")) ? 1 : 0;
    }

    /** Parses {@code CxHxW}, naming the option on error. */
    static int[] parseShape(String s) {
        String[] parts = s.toLowerCase(java.util.Locale.ROOT).split("x");
        try {
            if (parts.length == 3) {
                int[] r = {Integer.parseInt(parts[0]), Integer.parseInt(parts[1]), Integer.parseInt(parts[2])};
                if (r[0] > 0 && r[1] > 0 && r[2] > 0) return r;
            }
        } catch (NumberFormatException ignored) {
            // fall through to the message below
        }
        throw new IllegalArgumentException("Invalid value '" + s + "' for --input: must be CxHxW with positive integers, e.g. 3x32x32");
    }
}
