package io.wrnstream.engine.worker;

import io.wrnstream.model.engine.EngineOptions;
import io.wrnstream.model.engine.EngineProvider;
import io.wrnstream.model.engine.EngineState;
import io.wrnstream.model.engine.GroupSpec;
import io.wrnstream.model.engine.ProcessGroup;
import io.wrnstream.model.engine.TrainConfig;
import io.wrnstream.model.engine.TrainingEngine;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.function.Consumer;

/**
 * The worker engine as a {@link EngineProvider} service ({@code engine=worker}): the host's PyTorch in a worker process,
 * data-parallel groups over {@code torch.distributed} in that process ({@link WorkerGroup}).
 */
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

    /** On the device of {@link EngineOptions#DEFAULT} ({@code auto}), the device an engine created with the defaults trains on. */
    @Override
    public ProcessGroup openGroup(GroupSpec spec, Consumer<InetSocketAddress> hosted) {
        return openGroup(spec, EngineOptions.DEFAULT, hosted);
    }

    /**
     * Joins the group in a worker process of its own on the device {@code options} names: Gloo on the CPU, NCCL on a
     * CUDA device; the engine created with the same options moves into that worker at its first group step.
     */
    @Override
    public ProcessGroup openGroup(GroupSpec spec, EngineOptions options, Consumer<InetSocketAddress> hosted) {
        return WorkerGroup.open(spec, options, hosted);
    }

    @Override
    public String describeRuntime() {
        return "worker (the host's PyTorch in a worker process; python: " + WorkerProcess.pythonCandidates() + ")";
    }
}
