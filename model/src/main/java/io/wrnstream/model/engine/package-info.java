/** The training engine seam: one SGD step, evaluation and versioned snapshots, implemented with DL4J and with libtorch. */
package io.wrnstream.model.engine;
