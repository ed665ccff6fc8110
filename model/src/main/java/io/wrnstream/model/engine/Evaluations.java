package io.wrnstream.model.engine;

import io.wrnstream.model.eval.EvalResult;
import java.util.Iterator;
import java.util.function.Function;

/** The evaluation loop both engines share: error, mean cross-entropy and confusion matrix from class probabilities. */
public final class Evaluations {
    private Evaluations() {}

    /**
     * Runs {@code probabilities} over every batch and accumulates the result.
     *
     * @param classes number of classes
     * @param probabilities inference-mode class probabilities of a batch, {@code [n][classes]}; checks the batch
     */
    public static EvalResult evaluate(Iterator<Batch> batches, int classes, Function<Batch, float[][]> probabilities) {
        long[][] confusion = new long[classes][classes];
        long images = 0, wrong = 0;
        double lossSum = 0;
        while (batches.hasNext()) {
            Batch b = batches.next();
            float[][] probs = probabilities.apply(b);
            for (int i = 0; i < probs.length; i++) {
                int label = b.labels()[i];
                int predicted = argmax(probs[i]);
                confusion[label][predicted]++;
                if (predicted != label) wrong++;
                lossSum += -Math.log(Math.max(probs[i][label], Float.MIN_NORMAL));
            }
            images += probs.length;
        }
        return new EvalResult(images, images == 0 ? 0 : (double) wrong / images, images == 0 ? 0 : lossSum / images, confusion);
    }

    public static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
        return best;
    }
}
