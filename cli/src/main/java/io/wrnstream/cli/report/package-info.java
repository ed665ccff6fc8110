/**
 * {@code report}: turns the evaluation stream (results topic or JSON lines) into one self-contained HTML page with an
 * SVG learning curve, the configuration and the final numbers.
 */
package io.wrnstream.cli.report;
