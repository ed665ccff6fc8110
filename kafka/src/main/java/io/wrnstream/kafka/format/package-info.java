/**
 * The versioned binary record format for labelled images on Kafka (key, value layout, headers) and its one serde,
 * shared by the ingest CLI, the Flink sources and every test; see {@code record-format.md}.
 */
package io.wrnstream.kafka.format;
