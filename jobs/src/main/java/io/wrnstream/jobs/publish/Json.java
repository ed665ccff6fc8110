package io.wrnstream.jobs.publish;

import java.util.LinkedHashMap;
import java.util.Map;

/** Reads the flat JSON objects of numbers and plain strings this job writes; not a general JSON parser. */
public final class Json {
    private Json() {}

    /** Keys to raw values (strings unquoted) of a flat object such as {@code {"step":3,"event":"STEP"}}. */
    public static Map<String, String> flat(String json) {
        String s = json.strip();
        if (!s.startsWith("{") || !s.endsWith("}")) throw new IllegalArgumentException("Not a JSON object: " + json);
        Map<String, String> m = new LinkedHashMap<>();
        for (String part : s.substring(1, s.length() - 1).split(",")) {
            int colon = part.indexOf(':');
            if (colon < 0) throw new IllegalArgumentException("Not a flat JSON object: " + json);
            m.put(unquote(part.substring(0, colon)), unquote(part.substring(colon + 1)));
        }
        return m;
    }

    /** A JSON number, {@code null} read as NaN. */
    public static double dbl(String v) {
        return v == null || v.equals("null") ? Double.NaN : Double.parseDouble(v);
    }

    private static String unquote(String v) {
        String t = v.strip();
        return t.length() >= 2 && t.startsWith("\"") && t.endsWith("\"") ? t.substring(1, t.length() - 1) : t;
    }
}
