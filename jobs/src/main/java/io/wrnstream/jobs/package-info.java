/** The streaming training job; its stages live in the sub-packages named after the data flow. */
package io.wrnstream.jobs;
