package io.wrnstream.engine.worker;

import io.wrnstream.model.engine.EngineContract;
import org.junit.jupiter.api.BeforeAll;

/** The engine contract ({@link EngineContract}) on the worker engine; skipped, saying why, without a Python with PyTorch. */
class WorkerEngineContractTest extends EngineContract {
    @BeforeAll
    static void needsPythonWithTorch() {
        WorkerEngineTest.needsPythonWithTorch();
    }

    @Override
    protected String engine() {
        return "worker";
    }
}
