package io.wrnstream.model.optim;

/** Kinds of learning-rate schedule, all expressed in epochs of images seen so that a stream can use them. */
public enum Schedule {
    /** lr multiplied by {@code gamma} at each milestone epoch (the paper: x0.2 at 60, 120, 160). */
    STEP,
    /** Cosine annealing from lr to 0 over the total epochs, restarting after each period. */
    COSINE,
    /** The base lr forever (a never-ending stream). */
    CONSTANT
}
