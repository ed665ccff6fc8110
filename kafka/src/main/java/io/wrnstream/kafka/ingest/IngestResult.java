package io.wrnstream.kafka.ingest;

import java.util.Locale;

/**
 * What an {@link Ingest} run published.
 *
 * @param records records acknowledged by Kafka
 * @param bytes key and value bytes of those records
 * @param seconds wall time of the publishing (reading the dataset excluded)
 * @param topic the topic written
 * @param skipped corrupt images skipped under {@code skipCorrupt}
 */
public record IngestResult(long records, long bytes, double seconds, String topic, long skipped) {

    /** Records per second ({@code 0} when nothing took measurable time). */
    public double recordsPerSec() {
        return seconds > 0 ? records / seconds : 0;
    }

    /** The one-line JSON summary the CLI prints on stdout. */
    public String toJson() {
        return String.format(Locale.ROOT,
                "{\"records\":%d,\"bytes\":%d,\"seconds\":%.3f,\"records_per_sec\":%.1f,\"topic\":\"%s\",\"skipped\":%d}",
                records, bytes, seconds, recordsPerSec(), topic, skipped); // topic names never need JSON escaping
    }

    /** The human summary line the CLI prints on stderr. */
    public String toHumanLine() {
        return String.format(Locale.ROOT, "Published %,d records (%.1f MB) to %s in %.1f s: %,.0f records/s, %.1f MB/s%s",
                records, bytes / 1e6, topic, seconds, recordsPerSec(), seconds > 0 ? bytes / 1e6 / seconds : 0,
                skipped > 0 ? ", " + skipped + " corrupt images skipped" : "");
    }
}
