package io.wrnstream.model.engine;

import java.time.Duration;
import java.util.Objects;

/**
 * Where and how a data-parallel group meets. Rank 0 hosts the group's key-value store (on {@code port}, or any free
 * port when it is 0, which it then announces); the other ranks connect to {@code host:port}. Keys are prefixed with
 * {@code generation}, so a restarted job never meets the remains of an earlier attempt.
 *
 * @param rank this member's rank, {@code 0 <= rank < size}
 * @param size number of ranks, {@code >= 1}
 * @param host rank 0's store address (rank 0: the address it binds and announces)
 * @param port rank 0's store port; rank 0 may give 0 (any free port)
 * @param generation prefix of this group's keys: job, attempt and restore point
 * @param timeout how long a connection, a rendezvous or one collective may take before it fails
 */
public record GroupSpec(int rank, int size, String host, int port, String generation, Duration timeout) {
    public GroupSpec {
        if (size < 1) throw new IllegalArgumentException("Invalid group size " + size + ": must be >= 1");
        if (rank < 0 || rank >= size) throw new IllegalArgumentException("Invalid rank " + rank + ": must be in [0, " + size + ")");
        Objects.requireNonNull(host, "host");
        if (port < 0 || port > 65_535) throw new IllegalArgumentException("Invalid port " + port + ": must be in [0, 65535]");
        if (port == 0 && rank != 0) throw new IllegalArgumentException("Rank " + rank + " needs rank 0's store port; only rank 0 may give 0");
        Objects.requireNonNull(generation, "generation");
        Objects.requireNonNull(timeout, "timeout");
        if (timeout.isNegative() || timeout.isZero()) throw new IllegalArgumentException("Invalid group timeout " + timeout + ": must be > 0");
    }
}
