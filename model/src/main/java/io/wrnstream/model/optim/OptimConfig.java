package io.wrnstream.model.optim;

import java.util.Arrays;

/**
 * SGD settings and learning-rate schedule. The paper's recipe is {@link #paper()}: lr 0.1, Nesterov momentum 0.9,
 * weight decay 5e-4, lr x0.2 at epochs 60/120/160 of 200.
 *
 * <p>Epochs are counted in images seen: epoch = imagesSeen / epochSize, fractional, so a stream that replays the
 * dataset follows the same schedule as an offline run.
 *
 * @param learningRate base learning rate, {@code > 0}
 * @param momentum momentum in [0, 1)
 * @param nesterov Nesterov momentum if true
 * @param weightDecay L2 weight decay coefficient, {@code >= 0}
 * @param decayBatchNorm whether weight decay also applies to BatchNorm gamma and beta (the reference code does)
 * @param schedule schedule kind
 * @param milestones epochs at which a STEP schedule multiplies the lr by gamma, strictly increasing
 * @param gamma STEP multiplier in (0, 1]
 * @param epochs total epochs of the run (end of COSINE period)
 * @param epochSize images per epoch (50,000 for CIFAR-10 train)
 */
public record OptimConfig(double learningRate, double momentum, boolean nesterov, double weightDecay, boolean decayBatchNorm,
                          Schedule schedule, double[] milestones, double gamma, double epochs, long epochSize) {

    /** The paper's defaults, the single place they live. */
    public static final double PAPER_LR = 0.1, PAPER_MOMENTUM = 0.9, PAPER_WEIGHT_DECAY = 5e-4, PAPER_GAMMA = 0.2, PAPER_EPOCHS = 200;
    public static final double[] PAPER_MILESTONES = {60, 120, 160};
    public static final long CIFAR_EPOCH = 50_000;

    public OptimConfig {
        if (!(learningRate > 0) || Double.isInfinite(learningRate)) {
            throw new IllegalArgumentException("Invalid value " + learningRate + " for optim.lr: must be a finite number > 0");
        }
        if (!(momentum >= 0 && momentum < 1)) {
            throw new IllegalArgumentException("Invalid value " + momentum + " for optim.momentum: must be in [0, 1)");
        }
        if (!(weightDecay >= 0) || Double.isInfinite(weightDecay)) {
            throw new IllegalArgumentException("Invalid value " + weightDecay + " for optim.weight-decay: must be a finite number >= 0");
        }
        if (schedule == null) {
            throw new IllegalArgumentException("Invalid value null for optim.schedule: must be one of " + Arrays.toString(Schedule.values()));
        }
        milestones = milestones == null ? new double[0] : milestones.clone();
        for (int i = 0; i < milestones.length; i++) {
            if (!(milestones[i] > 0) || (i > 0 && milestones[i] <= milestones[i - 1])) {
                throw new IllegalArgumentException("Invalid value " + Arrays.toString(milestones)
                        + " for optim.milestones: must be strictly increasing epochs > 0");
            }
        }
        if (!(gamma > 0 && gamma <= 1)) {
            throw new IllegalArgumentException("Invalid value " + gamma + " for optim.gamma: must be in (0, 1]");
        }
        if (!(epochs > 0) || Double.isInfinite(epochs)) {
            throw new IllegalArgumentException("Invalid value " + epochs + " for optim.epochs: must be a finite number > 0");
        }
        if (epochSize < 1) {
            throw new IllegalArgumentException("Invalid value " + epochSize + " for optim.epoch-size: must be >= 1 image");
        }
        if (nesterov && momentum == 0) {
            throw new IllegalStateException("optim.nesterov=true needs optim.momentum > 0, got 0");
        }
    }

    /** The paper's recipe for a CIFAR-sized epoch. */
    public static OptimConfig paper() {
        return new OptimConfig(PAPER_LR, PAPER_MOMENTUM, true, PAPER_WEIGHT_DECAY, true, Schedule.STEP,
                PAPER_MILESTONES, PAPER_GAMMA, PAPER_EPOCHS, CIFAR_EPOCH);
    }

    @Override
    public double[] milestones() {
        return milestones.clone();
    }

    /** Fractional epoch reached after {@code imagesSeen} images. */
    public double epochOf(long imagesSeen) {
        return (double) imagesSeen / epochSize;
    }

    /** Learning rate for the step taken after {@code imagesSeen} images. */
    public double learningRateAt(long imagesSeen) {
        double epoch = epochOf(imagesSeen);
        return switch (schedule) {
            case CONSTANT -> learningRate;
            case STEP -> {
                double lr = learningRate;
                for (double m : milestones) {
                    if (epoch >= m) lr *= gamma;
                }
                yield lr;
            }
            case COSINE -> {
                double t = (epoch % epochs) / epochs;
                yield 0.5 * learningRate * (1 + Math.cos(Math.PI * t));
            }
        };
    }

    public OptimConfig withSchedule(Schedule s) {
        return new OptimConfig(learningRate, momentum, nesterov, weightDecay, decayBatchNorm, s, milestones, gamma, epochs, epochSize);
    }

    public OptimConfig withEpochs(double e, long size) {
        return new OptimConfig(learningRate, momentum, nesterov, weightDecay, decayBatchNorm, schedule, milestones, gamma, e, size);
    }

    public OptimConfig withLearningRate(double lr) {
        return new OptimConfig(lr, momentum, nesterov, weightDecay, decayBatchNorm, schedule, milestones, gamma, epochs, epochSize);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof OptimConfig c && c.learningRate == learningRate && c.momentum == momentum && c.nesterov == nesterov
                && c.weightDecay == weightDecay && c.decayBatchNorm == decayBatchNorm && c.schedule == schedule
                && Arrays.equals(c.milestones, milestones) && c.gamma == gamma && c.epochs == epochs && c.epochSize == epochSize;
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(learningRate, momentum, nesterov, weightDecay, decayBatchNorm, schedule, gamma, epochs, epochSize)
                * 31 + Arrays.hashCode(milestones);
    }

    @Override
    public String toString() {
        return "OptimConfig[lr=" + learningRate + ", momentum=" + momentum + ", nesterov=" + nesterov + ", weightDecay=" + weightDecay
                + ", decayBatchNorm=" + decayBatchNorm + ", schedule=" + schedule + ", milestones=" + Arrays.toString(milestones)
                + ", gamma=" + gamma + ", epochs=" + epochs + ", epochSize=" + epochSize + "]";
    }
}
