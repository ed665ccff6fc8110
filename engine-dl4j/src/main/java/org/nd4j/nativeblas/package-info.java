/**
 * A shim that restores the class DL4J 1.0.0-M2.1's oneDNN helper check still looks up under its old name, so that
 * the oneDNN layer helpers run (see {@code io.wrnstream.engine.dl4j.CpuFastPath}).
 */
package org.nd4j.nativeblas;
