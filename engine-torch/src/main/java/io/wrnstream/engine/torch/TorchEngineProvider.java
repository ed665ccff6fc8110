package io.wrnstream.engine.torch;

import io.wrnstream.model.engine.GroupSpec;
import io.wrnstream.model.engine.ProcessGroup;

import io.wrnstream.model.engine.EngineOptions;
import io.wrnstream.model.engine.EngineProvider;
import io.wrnstream.model.engine.EngineState;
import io.wrnstream.model.engine.TrainConfig;
import io.wrnstream.model.engine.TrainingEngine;
import org.bytedeco.pytorch.global.torch;

/** The libtorch engine as a {@link EngineProvider} service ({@code engine=libtorch}). */
public final class TorchEngineProvider implements EngineProvider {
    public static final String NAME = "libtorch";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String defaultPrecision(EngineOptions options) {
        return TrainConfig.defaultPrecision(NAME, options.cuda());
    }

    @Override
    public void configureRuntime(EngineOptions options) {
        if (options.threads() > 0) LibtorchEngine.setThreads(options.threads());
    }

    @Override
    public TrainingEngine create(TrainConfig config, EngineOptions options) {
        return LibtorchEngine.create(config, options);
    }

    @Override
    public TrainingEngine restore(EngineState state, EngineOptions options) {
        return LibtorchEngine.restore(state, options);
    }

    /** Gloo on the CPU; NCCL when {@code device} is CUDA (GPU natives only). */
    @Override
    public ProcessGroup openGroup(GroupSpec spec, java.util.function.Consumer<java.net.InetSocketAddress> hosted) {
        return C10dGroup.open(spec, hosted, false);
    }

    /** Over NCCL for engines on CUDA devices, Gloo on the CPU. */
    @Override
    public ProcessGroup openGroup(GroupSpec spec, EngineOptions options, java.util.function.Consumer<java.net.InetSocketAddress> hosted) {
        return C10dGroup.open(spec, hosted, options.cuda());
    }

    @Override
    public String describeRuntime() {
        TorchNatives.load();
        return "libtorch " + torch.get_num_threads() + " threads" + (torch.cuda_is_available() ? ", CUDA available" : ", CPU");
    }
}
