/** Model files on disk: an engine snapshot plus its provenance, written atomically and verified on load. */
package io.wrnstream.model.io;
