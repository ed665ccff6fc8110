/**
 * The paper's optimiser settings (Nesterov SGD, weight decay) and learning-rate schedules counted in images seen, so
 * that a stream replaying the dataset follows the same schedule as an offline run.
 */
package io.wrnstream.model.optim;
