package io.wrnstream.engine.torch;

import io.wrnstream.model.engine.EngineContract;

/** The engine contract ({@link EngineContract}) on the libtorch engine in bf16 (autocast, fp32 master weights). */
class LibtorchBf16EngineContractTest extends EngineContract {
    @Override
    protected String engine() {
        return "libtorch";
    }

    @Override
    protected String precision() {
        return "bf16";
    }
}
