package io.wrnstream.engine.dl4j;

import io.wrnstream.model.engine.EngineContract;

/** The engine contract ({@link EngineContract}) on the dl4j engine. */
class Dl4jEngineContractTest extends EngineContract {
    @Override
    protected String engine() {
        return "dl4j";
    }
}
