/**
 * Streaming model updates: the trainer's model at a checkpoint is written to the model store (atomically, with a
 * SHA-256) and announced on a compacted Kafka topic, exactly once, only for checkpoints that complete.
 */
package io.wrnstream.jobs.update;
