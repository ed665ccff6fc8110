/** Third stage: minibatch assembly and SGD in one checkpointed operator that also emits model snapshots for evaluation. */
package io.wrnstream.jobs.train;
