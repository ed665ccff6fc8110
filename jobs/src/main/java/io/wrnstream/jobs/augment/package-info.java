/** Second stage: parallel, stateless training augmentation (pad, crop, flip) and normalisation of each image. */
package io.wrnstream.jobs.augment;
