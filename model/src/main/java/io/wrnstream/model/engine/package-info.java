/**
 * The training engine seam: one SGD step, evaluation and versioned snapshots, implemented with DL4J, with libtorch in
 * process, and with the host's own PyTorch in a worker process ({@code worker}); all three read and write the one
 * parameter layout.
 */
package io.wrnstream.model.engine;
