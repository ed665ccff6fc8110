/**
 * Offline training, shared by {@code train} and {@code reproduce}: the dataset replayed as a seeded stream, the
 * paper's recipe scaled to a budget, one evaluation record per evaluation.
 */
package io.wrnstream.cli.train;
