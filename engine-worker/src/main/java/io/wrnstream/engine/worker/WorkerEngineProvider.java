package io.wrnstream.engine.worker;

import io.wrnstream.model.engine.EngineOptions;
import io.wrnstream.model.engine.EngineProvider;
import io.wrnstream.model.engine.EngineState;
import io.wrnstream.model.engine.TrainConfig;
import io.wrnstream.model.engine.TrainingEngine;
import java.util.List;

/** The worker engine as a {@link EngineProvider} service ({@code engine=worker}): the host's PyTorch in a worker process. */
public final class WorkerEngineProvider implements EngineProvider {
    public static final String NAME = "worker";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public List<String> precisions() {
        return TrainConfig.precisions(NAME);
    }

    @Override
    public String defaultPrecision(EngineOptions options) {
        return TrainConfig.defaultPrecision(NAME, options.cuda());
    }

    @Override
    public TrainingEngine create(TrainConfig config, EngineOptions options) {
        return WorkerEngine.create(config, options);
    }

    @Override
    public TrainingEngine restore(EngineState state, EngineOptions options) {
        return WorkerEngine.restore(state, options);
    }

    @Override
    public String describeRuntime() {
        return "worker (the host's PyTorch in a worker process; python: " + WorkerProcess.pythonCandidates() + ")";
    }
}
