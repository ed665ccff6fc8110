package io.wrnstream.serve;

import io.wrnstream.kafka.update.ModelUpdate;

/**
 * Which model update {@link ModelFollower} loads next, as a plain rule: the highest version seen (not the newest by
 * offset), never one at or below the version being served unless downgrades are allowed, and a failed update is
 * retried with back-off while a newer one is tried at once.
 *
 * <p>Not thread-safe: the follower's thread owns it.
 */
final class UpdateChoice {
    static final long FIRST_BACKOFF_MS = 1000;
    static final long MAX_BACKOFF_MS = 30_000;

    private final boolean allowDowngrade;
    private ModelUpdate newest;
    private ModelUpdate applied;
    private ModelUpdate failed;
    private int failures;
    private long retryAt;

    /** With {@code allowDowngrade}, the newest update by offset wins even when its version is lower (a roll-back). */
    UpdateChoice(boolean allowDowngrade) {
        this.allowDowngrade = allowDowngrade;
    }

    /** Takes note of an update read from the topic (in offset order). */
    void offer(ModelUpdate u) {
        if (newest == null || allowDowngrade || !u.modelId().equals(newest.modelId()) || u.version() > newest.version()) newest = u;
    }

    /** The update to load now, or null: nothing new, at or below what is served, or a failed one still backing off. */
    ModelUpdate next(long nowMs) {
        if (newest == null || newest.equals(applied)) return null;
        if (!allowDowngrade && applied != null && applied.modelId().equals(newest.modelId()) && newest.version() <= applied.version()) {
            return null;
        }
        if (newest.equals(failed) && nowMs < retryAt) return null;
        return newest;
    }

    /** {@code u} is now served. */
    void loaded(ModelUpdate u) {
        applied = u;
        failed = null;
        failures = 0;
    }

    /** Loading {@code u} failed; returns the back-off before it is tried again (a newer update is tried at once). */
    long failed(ModelUpdate u, long nowMs) {
        if (!u.equals(failed)) failures = 0;
        failed = u;
        failures++;
        long backoff = Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS << Math.min(failures - 1, 5));
        retryAt = nowMs + backoff;
        return backoff;
    }

    /** Consecutive failures of the update that failed last. */
    int failures() {
        return failures;
    }
}
