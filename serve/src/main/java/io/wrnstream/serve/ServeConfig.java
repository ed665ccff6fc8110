package io.wrnstream.serve;

import java.util.List;

/**
 * Settings of the HTTP service, validated when built.
 *
 * @param bind address to listen on ({@code 0.0.0.0} for all)
 * @param port TCP port, 0 for a free one
 * @param threads request threads (the pool is bounded; when its queue is full the accepting thread runs the request)
 * @param maxRequestBytes largest accepted request body; larger ones get 413
 * @param classNames class names in label order, or null for the defaults of the model's class count
 */
public record ServeConfig(String bind, int port, int threads, int maxRequestBytes, List<String> classNames) {
    /** Default largest request body: 1 MiB. */
    public static final int DEFAULT_MAX_REQUEST_BYTES = 1 << 20;

    public ServeConfig {
        if (bind == null || bind.isBlank()) throw new IllegalArgumentException("Invalid value '" + bind + "' for --bind: must be a host address");
        if (port < 0 || port > 65_535) throw new IllegalArgumentException("Invalid value " + port + " for --port: must be in [0, 65535]");
        if (threads < 1 || threads > 1024) throw new IllegalArgumentException("Invalid value " + threads + " for --threads: must be in [1, 1024]");
        if (maxRequestBytes < 1024) {
            throw new IllegalArgumentException("Invalid value " + maxRequestBytes + " for --max-request-bytes: must be >= 1024");
        }
        classNames = classNames == null || classNames.isEmpty() ? null : List.copyOf(classNames);
    }

    /** Port {@code port} on all addresses, 4 threads, 1 MiB bodies, default class names. */
    public static ServeConfig defaults(int port) {
        return new ServeConfig("0.0.0.0", port, 4, DEFAULT_MAX_REQUEST_BYTES, null);
    }
}
