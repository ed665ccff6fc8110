package io.wrnstream.jobs.train;

/**
 * A copy of the model the trainer emits every few steps for evaluation.
 *
 * @param version 1, 2, 3... per job, increasing
 * @param step steps taken when it was taken
 * @param imagesSeen images trained on
 * @param epochs fractional epochs (images seen / epoch size)
 * @param wallMs wall-clock time it was taken, epoch millis
 * @param engine {@link io.wrnstream.model.engine.TrainingEngine#snapshot()} bytes
 */
public record ModelSnapshot(long version, long step, long imagesSeen, double epochs, long wallMs, byte[] engine) {

    @Override
    public boolean equals(Object o) {
        return o instanceof ModelSnapshot m && version == m.version && step == m.step && imagesSeen == m.imagesSeen
                && java.util.Arrays.equals(engine, m.engine);
    }

    @Override
    public int hashCode() {
        return Long.hashCode(version) * 31 + Long.hashCode(step);
    }

    @Override
    public String toString() {
        return "ModelSnapshot[v" + version + ", step=" + step + ", images=" + imagesSeen + ", " + engine.length + " bytes]";
    }
}
