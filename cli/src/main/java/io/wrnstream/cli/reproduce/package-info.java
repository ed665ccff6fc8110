/**
 * {@code reproduce}: the paper's comparisons as versioned experiment files, each arm trained under a budget (offline or
 * through the streaming job), then one HTML report with the table and the learning curves of all arms.
 */
package io.wrnstream.cli.reproduce;
