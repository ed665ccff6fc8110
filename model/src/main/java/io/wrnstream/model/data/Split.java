package io.wrnstream.model.data;

import java.util.Locale;

/** Which part of a dataset release to read. */
public enum Split {
    /** The training images. */
    TRAIN("train"),
    /** The held-out test images. */
    TEST("test");

    private final String id;

    Split(String id) {
        this.id = id;
    }

    /** The lower-case name used in file and folder names and on the command line: {@code train} or {@code test}. */
    public String id() {
        return id;
    }

    /**
     * Parses {@code train} or {@code test} (case-insensitive, surrounding blanks ignored).
     *
     * @throws IllegalArgumentException naming the bad value and the allowed ones
     */
    public static Split parse(String value) {
        if (value != null) {
            String v = value.trim().toLowerCase(Locale.ROOT);
            for (Split s : values()) {
                if (s.id.equals(v)) return s;
            }
        }
        throw new IllegalArgumentException("Invalid value " + (value == null ? "null" : "'" + value + "'")
                + " for split: must be one of train, test");
    }

    @Override
    public String toString() {
        return id;
    }
}
