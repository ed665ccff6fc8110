/**
 * The offline command line of the model module ({@code train}, {@code bench}, {@code params}), shared progress display,
 * JSON-line output and error handling; the {@code wrn-stream} launcher adds the streaming commands next to these.
 */
package io.wrnstream.cli;
