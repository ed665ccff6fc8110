/** Last stage: the Kafka source and the sinks (exactly-once results, dead letters, trainer events, JSON log lines). */
package io.wrnstream.jobs.publish;
