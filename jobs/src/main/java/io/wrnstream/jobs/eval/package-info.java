/** Fourth stage: model snapshots are evaluated on the held-out set off the training path; results carry step and error. */
package io.wrnstream.jobs.eval;
