package io.wrnstream.kafka.ingest;

/** An ingest run that failed for a reason outside the program: unreachable broker, denied topic, unreadable data. */
public class IngestException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    public IngestException(String message) {
        super(message);
    }

    public IngestException(String message, Throwable cause) {
        super(message, cause);
    }
}
