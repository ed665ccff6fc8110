package io.wrnstream.kafka.ingest;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Token bucket: {@code rate} permits per second, bursts of at most {@code burst}. {@link #acquire()} parks the thread
 * until a permit is due (no busy loop). Not thread-safe: one sender thread owns it.
 */
final class RateLimiter {

    private final double nanosPerPermit;
    private final double burst;
    private double tokens;
    private long last;

    /** {@code rate} permits/s; the bucket holds a tenth of a second of them, at least one. */
    RateLimiter(double rate) {
        if (!(rate > 0)) throw new IllegalArgumentException("Invalid rate " + rate + ": must be > 0");
        this.nanosPerPermit = TimeUnit.SECONDS.toNanos(1) / rate;
        this.burst = Math.max(1, rate / 10);
        this.tokens = 1;
        this.last = System.nanoTime();
    }

    /** Takes one permit, waiting for it if the bucket is empty. */
    void acquire() {
        while (true) {
            long now = System.nanoTime();
            tokens = Math.min(burst, tokens + (now - last) / nanosPerPermit);
            last = now;
            if (tokens >= 1) {
                tokens -= 1;
                return;
            }
            LockSupport.parkNanos((long) Math.ceil((1 - tokens) * nanosPerPermit));
            if (Thread.currentThread().isInterrupted()) throw new IngestException("Interrupted while rate limiting");
        }
    }
}
