/**
 * Publishes a dataset split to a Kafka topic as image records, epoch after epoch in seeded shuffled order: the
 * start of the streaming flow ({@link io.wrnstream.kafka.ingest.Ingest}, CLI {@link io.wrnstream.cli.IngestCommand}).
 */
package io.wrnstream.kafka.ingest;
