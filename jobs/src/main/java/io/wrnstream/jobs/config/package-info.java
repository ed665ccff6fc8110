/** The job's single validated configuration: every option declared once, loaded from a file and/or arguments. */
package io.wrnstream.jobs.config;
