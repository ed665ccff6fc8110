/**
 * {@code serve}: an HTTP prediction service that follows the model-updates topic (or serves one model file), loads
 * and verifies each new model off the request path and swaps it in atomically.
 */
package io.wrnstream.serve;
