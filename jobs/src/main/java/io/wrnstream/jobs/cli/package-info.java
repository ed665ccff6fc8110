/** The top-level {@code wrn-stream} command line and its {@code job} subcommand. */
package io.wrnstream.jobs.cli;
