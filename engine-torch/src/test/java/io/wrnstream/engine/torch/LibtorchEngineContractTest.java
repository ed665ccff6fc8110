package io.wrnstream.engine.torch;

import io.wrnstream.model.engine.EngineContract;

/** The engine contract ({@link EngineContract}) on the libtorch engine. */
class LibtorchEngineContractTest extends EngineContract {
    @Override
    protected String engine() {
        return "libtorch";
    }
}
