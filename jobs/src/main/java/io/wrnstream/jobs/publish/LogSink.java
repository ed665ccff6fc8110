package io.wrnstream.jobs.publish;

import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.util.function.SerializableFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Logs each element as one line (JSON for results) at INFO on a named logger, so a log pipeline can pick up the
 * evaluation stream without Kafka.
 *
 * @param <T> element type
 */
public final class LogSink<T> implements Sink<T> {
    private static final long serialVersionUID = 1L;
    private final String logger;
    private final SerializableFunction<T, String> format;

    /** Logs {@code format(element)} on logger {@code logger}. */
    public LogSink(String logger, SerializableFunction<T, String> format) {
        this.logger = logger;
        this.format = format;
    }

    @Override
    public SinkWriter<T> createWriter(WriterInitContext context) {
        Logger log = LoggerFactory.getLogger(logger);
        return new SinkWriter<>() {
            @Override
            public void write(T element, Context ctx) {
                log.info("{}", format.apply(element));
            }

            @Override
            public void flush(boolean endOfInput) {
                // nothing buffered
            }

            @Override
            public void close() {
                // nothing to release
            }
        };
    }
}
