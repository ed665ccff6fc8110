package io.wrnstream.model.eval;

/**
 * Result of evaluating a model on a held-out set in inference mode.
 *
 * @param images number of images evaluated
 * @param error fraction misclassified (top-1 test error), in [0, 1]
 * @param loss mean cross-entropy
 * @param confusion {@code confusion[actual][predicted]} counts
 */
public record EvalResult(long images, double error, double loss, long[][] confusion) {

    /** Accuracy of each class: correct / actual count (NaN for a class absent from the set). */
    public double[] perClassAccuracy() {
        double[] acc = new double[confusion.length];
        for (int c = 0; c < confusion.length; c++) {
            long total = 0;
            for (long v : confusion[c]) total += v;
            acc[c] = total == 0 ? Double.NaN : (double) confusion[c][c] / total;
        }
        return acc;
    }
}
