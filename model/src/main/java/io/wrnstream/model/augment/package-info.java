/**
 * The paper's data augmentation (reflection pad 4, random crop, horizontal flip) and per-channel normalisation,
 * turning {@link io.wrnstream.model.data.Sample}s into engine {@link io.wrnstream.model.engine.Batch}es; random
 * choices are pure functions of (seed, sample id, epoch) so replays and parallel operators agree.
 */
package io.wrnstream.model.augment;
