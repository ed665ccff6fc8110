package io.wrnstream.model.engine;

/**
 * Conversions between the canonical snapshot layout ({@link ParamLayout}: DL4J's forms) and PyTorch's forms, written
 * once for every engine that computes with PyTorch (in process or in a worker): BatchNorm's running variance, stored
 * as {@code log10(std)}, and the Nesterov momentum, stored as DL4J's lr-carrying velocity {@code v = -lr*b}. In place,
 * float results exactly as before this class existed.
 */
final class TorchForm {
    private TorchForm() {}

    /** {@code log10(std)} to PyTorch's {@code running_var = 10^(2x)}. */
    static void varianceFromLog10Std(float[] values) {
        for (int i = 0; i < values.length; i++) values[i] = (float) Math.pow(10, 2.0 * values[i]);
    }

    /** PyTorch's {@code running_var} to {@code log10(sqrt(var))}. */
    static void log10StdFromVariance(float[] values) {
        for (int i = 0; i < values.length; i++) values[i] = (float) (0.5 * Math.log10(values[i]));
    }

    /** DL4J's velocity {@code v} to PyTorch's lr-free buffer {@code b = -v/lr}; {@code rate} from {@link #momentumRate(double)}. */
    static void bufferFromVelocity(float[] values, double rate) {
        for (int i = 0; i < values.length; i++) values[i] = (float) (-values[i] / rate);
    }

    /** PyTorch's buffer {@code b} to DL4J's velocity {@code v = -lr*b}. */
    static void velocityFromBuffer(float[] values, double rate) {
        for (int i = 0; i < values.length; i++) values[i] = (float) (-rate * values[i]);
    }

    /** The rate that converts between velocity and buffer: the next step's learning rate, guarding a zero rate. */
    static double momentumRate(double lr) {
        return lr > 0 ? lr : 1.0;
    }
}
