/**
 * An in-process Kafka broker (KRaft, broker and controller in one node) for the embedded demo and the integration
 * tests: real Kafka, local ports, a temporary log directory.
 */
package io.wrnstream.jobs.embedded;
