/** First stage: raw Kafka records are decoded and validated into labelled images; bad ones go to the dead-letter topic. */
package io.wrnstream.jobs.decode;
