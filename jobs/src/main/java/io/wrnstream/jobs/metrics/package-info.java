/**
 * Observability across the flow: the names of every metric the job registers (one table, {@link MetricNames}, which
 * the Grafana dashboard and its test refer to) and the small holders the decode, trainer and evaluator stages update.
 */
package io.wrnstream.jobs.metrics;
