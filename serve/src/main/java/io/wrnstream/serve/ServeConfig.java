package io.wrnstream.serve;

import java.time.Duration;
import java.util.List;

/**
 * Settings of the HTTP service, validated when built.
 *
 * @param bind address to listen on ({@code 0.0.0.0} for all)
 * @param port TCP port, 0 for a free one
 * @param threads requests decoded and predicted at once (others wait for a turn, at most the request timeout)
 * @param maxRequestBytes largest accepted request body; larger ones get 413
 * @param classNames class names in label order, or null for the defaults of the model's class count
 * @param maxConnections most open connections; each gets a thread while it sends its request, so a slow client holds
 *     no request thread and health probes stay answerable
 * @param requestTimeout longest time a client may take to send its request line, headers and body
 */
public record ServeConfig(String bind, int port, int threads, int maxRequestBytes, List<String> classNames, int maxConnections,
                          Duration requestTimeout) {
    /** Default largest request body: 1 MiB. */
    public static final int DEFAULT_MAX_REQUEST_BYTES = 1 << 20;
    /** Default most open connections. */
    public static final int DEFAULT_MAX_CONNECTIONS = 256;
    /** Default time a client may take to send a request. */
    public static final Duration DEFAULT_REQUEST_TIMEOUT = Duration.ofSeconds(10);

    /** Settings with the default connection limit and request timeout. */
    public ServeConfig(String bind, int port, int threads, int maxRequestBytes, List<String> classNames) {
        this(bind, port, threads, maxRequestBytes, classNames, DEFAULT_MAX_CONNECTIONS, DEFAULT_REQUEST_TIMEOUT);
    }

    public ServeConfig {
        if (bind == null || bind.isBlank()) throw new IllegalArgumentException("Invalid value '" + bind + "' for --bind: must be a host address");
        if (port < 0 || port > 65_535) throw new IllegalArgumentException("Invalid value " + port + " for --port: must be in [0, 65535]");
        if (threads < 1 || threads > 1024) throw new IllegalArgumentException("Invalid value " + threads + " for --threads: must be in [1, 1024]");
        if (maxRequestBytes < 1024) {
            throw new IllegalArgumentException("Invalid value " + maxRequestBytes + " for --max-request-bytes: must be >= 1024");
        }
        classNames = classNames == null || classNames.isEmpty() ? null : List.copyOf(classNames);
        if (maxConnections < threads + 2 || maxConnections > 10_000) {
            throw new IllegalArgumentException("Invalid value " + maxConnections + " for --max-connections: must be in [" + (threads + 2)
                    + ", 10000] (at least --threads + 2, so that health probes get through)");
        }
        if (requestTimeout == null || requestTimeout.toSeconds() < 1) {
            throw new IllegalArgumentException("Invalid value " + requestTimeout + " for --request-timeout: must be at least 1s");
        }
    }

    /** Port {@code port} on 127.0.0.1 (this machine only), 4 threads, 1 MiB bodies, default class names. */
    public static ServeConfig defaults(int port) {
        return new ServeConfig("127.0.0.1", port, 4, DEFAULT_MAX_REQUEST_BYTES, null);
    }
}
