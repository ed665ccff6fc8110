package io.wrnstream.jobs.metrics;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The metric names a PromQL expression or a Grafana dashboard queries: enough of PromQL to strip string literals,
 * label matchers, ranges, label lists ({@code by (...)}), offsets, functions and keywords, and what remains are the
 * metric names. Grafana's {@code label_values(metric, label)} template queries are understood too.
 */
final class PromQl {
    private static final Pattern STRINGS = Pattern.compile("\"(?:[^\"\\\\]|\\\\.)*\"|'(?:[^'\\\\]|\\\\.)*'|`[^`]*`");
    private static final Pattern NAME_MATCHER = Pattern.compile("__name__\\s*=\\s*\"([a-zA-Z_:][a-zA-Z0-9_:]*)\"");
    private static final Pattern MATCHERS = Pattern.compile("\\{[^}]*}");
    private static final Pattern RANGES = Pattern.compile("\\[[^]]*]");
    private static final Pattern LABEL_LISTS = Pattern.compile("(?i)\\b(by|without|on|ignoring|group_left|group_right)\\s*\\([^)]*\\)");
    private static final Pattern OFFSETS = Pattern.compile("(?i)\\boffset\\s+-?[0-9a-z$_{}]+|@\\s*(start\\(\\)|end\\(\\)|[0-9.]+)");
    private static final Pattern VARIABLES = Pattern.compile("\\$\\{[^}]*}|\\$\\w+");
    private static final Pattern IDENTIFIER = Pattern.compile("(?<![\\w.:])([a-zA-Z_:][a-zA-Z0-9_:]*)(\\s*\\()?");
    private static final Pattern LABEL_VALUES = Pattern.compile("^\\s*label_values\\s*\\((.*)\\)\\s*$", Pattern.DOTALL);
    private static final Set<String> KEYWORDS = Set.of("and", "or", "unless", "bool", "inf", "nan", "by", "without", "on", "ignoring",
            "group_left", "group_right", "offset");

    private PromQl() {}

    /** The metric names {@code expr} selects, sorted. */
    static Set<String> metricNames(String expr) {
        Set<String> names = new TreeSet<>();
        Matcher lv = LABEL_VALUES.matcher(expr);
        if (lv.matches()) {
            // Grafana template query: label_values(label) names no metric, label_values(selector, label) does.
            String args = lv.group(1);
            int comma = topLevelComma(args);
            return comma < 0 ? names : metricNames(args.substring(0, comma));
        }
        Matcher byName = NAME_MATCHER.matcher(expr);
        while (byName.find()) names.add(byName.group(1));
        String s = STRINGS.matcher(expr).replaceAll(" ");
        s = MATCHERS.matcher(s).replaceAll(" ");
        s = RANGES.matcher(s).replaceAll(" ");
        s = LABEL_LISTS.matcher(s).replaceAll(" ");
        s = OFFSETS.matcher(s).replaceAll(" ");
        s = VARIABLES.matcher(s).replaceAll(" ");
        Matcher m = IDENTIFIER.matcher(s);
        while (m.find()) {
            boolean function = m.group(2) != null;
            if (!function && !KEYWORDS.contains(m.group(1).toLowerCase(java.util.Locale.ROOT))) names.add(m.group(1));
        }
        return names;
    }

    private static int topLevelComma(String s) {
        int depth = 0;
        boolean quoted = false;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"' && (i == 0 || s.charAt(i - 1) != '\\')) quoted = !quoted;
            if (quoted) continue;
            if (c == '(' || c == '{' || c == '[') depth++;
            if (c == ')' || c == '}' || c == ']') depth--;
            if (c == ',' && depth == 0) return i;
        }
        return -1;
    }

    /** Every PromQL query of a Grafana dashboard (panel targets and template variables), keyed by where it is. */
    static Map<String, String> dashboardQueries(JsonNode dashboard) {
        Map<String, String> out = new LinkedHashMap<>();
        for (JsonNode panel : panels(dashboard)) {
            for (JsonNode t : panel.path("targets")) {
                if (t.hasNonNull("expr")) out.put("panel '" + panel.path("title").asText() + "' " + t.path("refId").asText(), t.get("expr").asText());
            }
        }
        for (JsonNode v : dashboard.path("templating").path("list")) {
            if (!v.path("type").asText().equals("query")) continue;
            JsonNode q = v.path("query");
            out.put("variable $" + v.path("name").asText(), q.isTextual() ? q.asText() : q.path("query").asText());
        }
        return out;
    }

    /** Every metric name a dashboard's queries use. */
    static Set<String> dashboardMetricNames(JsonNode dashboard) {
        Set<String> names = new TreeSet<>();
        dashboardQueries(dashboard).values().forEach(q -> names.addAll(metricNames(q)));
        return names;
    }

    /** Panels, including those nested in collapsed rows. */
    static List<JsonNode> panels(JsonNode dashboard) {
        List<JsonNode> out = new ArrayList<>();
        for (JsonNode p : dashboard.path("panels")) {
            out.add(p);
            p.path("panels").forEach(out::add);
        }
        return out;
    }

    /** Reads a dashboard JSON file. */
    static JsonNode readDashboard(Path file) throws IOException {
        return new ObjectMapper().readTree(Files.readString(file));
    }

    /** The repository root (the folder holding {@code docker/} and {@code k8s/}), found upwards from the working directory. */
    static Path repoRoot() {
        Path dir = Path.of("").toAbsolutePath();
        for (Path d = dir; d != null; d = d.getParent()) {
            if (Files.isRegularFile(d.resolve("docker/grafana/dashboards/wrn-stream.json"))) return d;
        }
        throw new IllegalStateException("No docker/grafana/dashboards/wrn-stream.json above " + dir);
    }
}
