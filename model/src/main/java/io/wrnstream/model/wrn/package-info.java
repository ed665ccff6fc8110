/** The Wide Residual Network itself: its shape ({@link io.wrnstream.model.wrn.WrnConfig}) and its DL4J graph. */
package io.wrnstream.model.wrn;
