/**
 * The job's single validated configuration: every option a Flink {@code ConfigOption} declared once, read from the
 * cluster's Flink configuration ({@code wrn-stream.*}), a file and/or arguments.
 */
package io.wrnstream.jobs.config;
