package io.wrnstream.model.augment;

/**
 * SplitMix64 (Steele, Lea and Flood 2014), written out rather than borrowed from {@code SplittableRandom} so the
 * random choices are pinned by this code, not by a JDK version: a replay years later must reproduce them.
 */
final class SplitMix {

    static final long GOLDEN = 0x9E3779B97F4A7C15L;

    private SplitMix() {
    }

    /** The SplitMix64 finaliser: a bijective, well-avalanched mix of 64 bits. */
    static long mix64(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** A hash of (salt, a, b, c), chained so that each argument passes through a full mix. */
    static long hash(long salt, long a, long b, long c) {
        long h = mix64(salt + GOLDEN);
        h = mix64(h ^ a);
        h = mix64(h + GOLDEN ^ b);
        return mix64(h + 2 * GOLDEN ^ c);
    }

    /** A uniform integer in [0, bound) from the top 32 bits of {@code bits} (Lemire's multiply-shift). */
    static int below(long bits, int bound) {
        return (int) (((bits >>> 32) * bound) >>> 32);
    }
}
