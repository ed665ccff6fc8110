package io.wrnstream.jobs.config;

import java.util.Objects;
import java.util.function.Function;

/**
 * One declared job option: its key, default (as text, exactly as a user would write it), a one-line description
 * and the parser that validates a value. {@link JobConfig#OPTIONS} is the single table of them; the
 * {@code --help} text and the README table are generated from it.
 *
 * @param <T> the parsed type
 */
public final class Option<T> {
    private final String key;
    private final String defaultValue;
    private final String description;
    private final Function<String, T> parser;

    Option(String key, String defaultValue, String description, Function<String, T> parser) {
        this.key = Objects.requireNonNull(key);
        this.defaultValue = Objects.requireNonNull(defaultValue);
        this.description = Objects.requireNonNull(description);
        this.parser = Objects.requireNonNull(parser);
    }

    /** The key, as written in a config file ({@code key: value}) or on the command line ({@code --key value}). */
    public String key() {
        return key;
    }

    /** The default, as text. */
    public String defaultValue() {
        return defaultValue;
    }

    /** One line saying what the option does. */
    public String description() {
        return description;
    }

    /** Parses and validates {@code raw}; throws IllegalArgumentException naming this key, the value and what is allowed. */
    public T parse(String raw) {
        return parser.apply(raw == null ? "" : raw.trim());
    }

    @Override
    public String toString() {
        return key + " (default " + (defaultValue.isEmpty() ? "empty" : defaultValue) + "): " + description;
    }
}
