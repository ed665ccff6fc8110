package io.wrnstream.model;

import io.wrnstream.model.engine.Engines;
import io.wrnstream.model.engine.TrainConfig;
import io.wrnstream.model.optim.OptimConfig;

/**
 * The one default of every setting that more than one program has: the Flink job's {@code ConfigOption}s
 * ({@code JobConfig}), and the command-line options of {@code train}, {@code bench}, {@code ingest}, {@code serve} and
 * {@code demo} all refer to these constants instead of writing their own. Plain constants, so that modules without
 * Flink (serve, the offline trainer) share them; each typed value has a {@code *_TEXT} twin where a command-line
 * annotation needs the text (a compile-time constant derived from the typed one).
 */
public final class Defaults {
    private Defaults() {}

    /** Model wrn-D-K of the job, {@code train} and {@code bench}. */
    public static final String MODEL = "wrn-16-4";
    /**
     * The demo's model: small enough that one epoch of CIFAR-10 trains in about 80 s on a 2-core CPU with libtorch bf16
     * and still learns visibly (about 42% test error after that epoch).
     */
    public static final String DEMO_MODEL = "wrn-16-2";
    /** The demo's training images when it falls back to its synthetic set (a real dataset trains one full epoch). */
    public static final long DEMO_SYNTHETIC_IMAGES = 4096;
    /** Numeric engine: libtorch, the fastest here (see the README's engine table); dl4j is one option away. */
    public static final String ENGINE = Engines.DEFAULT_ENGINE;
    /** Precision: {@code auto} resolves to bf16 for libtorch on a GPU or a CPU with AVX-512-BF16/AMX, else fp32. */
    public static final String PRECISION = TrainConfig.AUTO;
    /** Minibatch size (paper: 128). */
    public static final int BATCH_SIZE = TrainConfig.PAPER_BATCH;
    public static final String BATCH_SIZE_TEXT = "" + BATCH_SIZE;
    /** Master seed of weights, shuffles, augmentation and dropout. */
    public static final long SEED = 42L;
    public static final String SEED_TEXT = "" + SEED;
    /** Dropout between the convolutions of a block (the paper uses 0.3 on CIFAR; off by default). */
    public static final double DROPOUT = 0.0;
    public static final String DROPOUT_TEXT = "" + DROPOUT;
    /** Base learning rate (paper: 0.1). */
    public static final double LR = OptimConfig.PAPER_LR;
    public static final String LR_TEXT = "" + LR;
    /** Learning-rate schedule: step (the paper's), cosine or constant. */
    public static final String SCHEDULE = "step";
    /** Length of the schedule in epochs (paper: 200). */
    public static final double SCHEDULE_EPOCHS = OptimConfig.PAPER_EPOCHS;
    public static final String SCHEDULE_EPOCHS_TEXT = "" + SCHEDULE_EPOCHS;

    /** Kafka bootstrap servers. */
    public static final String BOOTSTRAP_SERVERS = "localhost:9092";
    /** Topic of training images. */
    public static final String TOPIC_TRAIN = "wrn.train";
    /** Topic of held-out images. */
    public static final String TOPIC_TEST = "wrn.test";
    /** Topic of the job's evaluation records, which {@code report} reads. */
    public static final String TOPIC_RESULTS = "wrn.results";
    /** Compacted topic of model-update events, which {@code serve} follows. */
    public static final String TOPIC_MODEL_UPDATES = "wrn.model-updates";
}
