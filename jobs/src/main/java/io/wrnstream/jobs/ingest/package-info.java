/**
 * Publishes a dataset split to a Kafka topic as image records, epoch after epoch in seeded shuffled order: the
 * start of the streaming flow ({@link io.wrnstream.jobs.ingest.Ingest}, CLI {@link io.wrnstream.jobs.ingest.IngestCommand}).
 */
package io.wrnstream.jobs.ingest;
