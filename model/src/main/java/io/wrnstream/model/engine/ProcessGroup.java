package io.wrnstream.model.engine;

/**
 * One rank's membership of a data-parallel group: the peers an engine exchanges gradients with in
 * {@link AbstractEngine#trainStep(java.util.List, long[], ProcessGroup)}. Opened by the engine's provider
 * ({@link EngineProvider#openGroup}); the engine that opened it is the only one that can use it.
 * A group is not reusable after a failure: every restart forms a fresh one (a new {@link GroupSpec#generation()}).
 */
public interface ProcessGroup extends AutoCloseable {

    /** A group of one: rank 0 of 1, no peers, no communication. */
    ProcessGroup SOLO = new ProcessGroup() {
        @Override
        public int rank() {
            return 0;
        }

        @Override
        public int size() {
            return 1;
        }

        @Override
        public long arrive(String key) {
            return 1;
        }

        @Override
        public void close() {}

        @Override
        public String toString() {
            return "ProcessGroup.SOLO";
        }
    };

    /** This member's rank, {@code 0 <= rank < size}. */
    int rank();

    /** Number of ranks. */
    int size();

    /**
     * Atomically counts one arrival of this rank at {@code key} (in this group generation's store) and returns the
     * count including it: the rank that sees {@link #size()} arrived last.
     */
    long arrive(String key);

    /** Leaves the group and frees its connections. */
    @Override
    void close();
}
