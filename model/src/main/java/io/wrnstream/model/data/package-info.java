/**
 * Readers that turn dataset releases on disk (CIFAR binary, JPEG/PNG folders and zips, IDX) into in-memory
 * {@link io.wrnstream.model.data.Sample}s: the first stage of the offline pipeline and the image decoder the
 * streaming jobs reuse.
 */
package io.wrnstream.model.data;
