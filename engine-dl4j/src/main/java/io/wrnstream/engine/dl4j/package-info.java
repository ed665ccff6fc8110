/** The process-wide switch that makes DL4J fast on CPUs: the oneDNN build of ND4J plus DL4J's oneDNN layer helpers. */
package io.wrnstream.engine.dl4j;
