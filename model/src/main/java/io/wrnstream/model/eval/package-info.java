/** Evaluation results on a held-out set: test error, mean loss, confusion matrix and per-class accuracy. */
package io.wrnstream.model.eval;
