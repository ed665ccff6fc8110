package io.wrnstream.engine.dl4j;

import io.wrnstream.model.engine.EngineOptions;
import io.wrnstream.model.engine.EngineProvider;
import io.wrnstream.model.engine.EngineState;
import io.wrnstream.model.engine.TrainConfig;
import io.wrnstream.model.engine.TrainingEngine;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The DL4J engine as a {@link EngineProvider} service ({@code engine=dl4j}). A CUDA device is used when ND4J's
 * CUDA backend is on the classpath (built with {@code -Pcuda}); with the CPU backend a GPU request trains on the CPU
 * and says so in one line.
 */
public final class Dl4jEngineProvider implements EngineProvider {
    public static final String NAME = "dl4j";
    private static final Logger LOG = LoggerFactory.getLogger(Dl4jEngineProvider.class);

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String defaultPrecision(EngineOptions options) {
        return "fp32";
    }

    @Override
    public void configureRuntime(EngineOptions options) {
        // Must run before anything touches ND4J: the fast path picks the native binary when ND4J loads.
        System.setProperty(CpuFastPath.SWITCH, Boolean.toString(options.cpuFastPath()));
        CpuFastPath.enable();
        if (options.threads() > 0) {
            Nd4j.getEnvironment().setMaxMasterThreads(options.threads());
            Nd4j.getEnvironment().setMaxThreads(options.threads());
        }
    }

    @Override
    public TrainingEngine create(TrainConfig config, EngineOptions options) {
        selectDevice(options);
        return Dl4jEngine.create(config);
    }

    @Override
    public TrainingEngine restore(EngineState state, EngineOptions options) {
        selectDevice(options);
        return Dl4jEngine.restore(state);
    }

    @Override
    public java.util.Map<String, Object> runtimeFacts() {
        return java.util.Map.of("onednn", CpuFastPath.status().helperActive());
    }

    @Override
    public String describeRuntime() {
        return "dl4j " + CpuFastPath.status();
    }

    /** Binds this thread to the CUDA device asked for, when ND4J runs on CUDA; otherwise says the CPU trains. */
    private static void selectDevice(EngineOptions options) {
        if (!options.cuda()) return;
        CpuFastPath.enable();
        String backend = Nd4j.getExecutioner().getEnvironmentInformation().getProperty("backend");
        if ("CUDA".equalsIgnoreCase(backend)) {
            Nd4j.getAffinityManager().unsafeSetDevice(options.cudaIndex());
            LOG.info("ND4J's CUDA backend trains on device {}", options.cudaIndex());
        } else {
            LOG.warn("device={} asked for, but ND4J's backend is {} (the CUDA backend comes with mvn -Pcuda): training on the CPU",
                    options.device(), backend);
        }
    }
}
