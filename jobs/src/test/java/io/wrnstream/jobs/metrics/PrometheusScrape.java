package io.wrnstream.jobs.metrics;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/** One scrape of a Prometheus text-format endpoint (version 0.0.4), parsed into samples. */
record PrometheusScrape(List<Sample> samples) {

    /** One sample line: {@code name{label="value",...} value}. */
    record Sample(String name, Map<String, String> labels, double value) {}

    /** Fetches {@code url}; fails on a non-200 answer. */
    static PrometheusScrape fetch(HttpClient http, URI url) throws IOException, InterruptedException {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(url).timeout(Duration.ofSeconds(5)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) throw new IOException("GET " + url + " answered " + r.statusCode());
        return parse(r.body());
    }

    /** Parses the text format; comment and blank lines are skipped. */
    static PrometheusScrape parse(String text) {
        List<Sample> out = new ArrayList<>();
        for (String line : text.split("\n")) {
            String l = line.strip();
            if (l.isEmpty() || l.startsWith("#")) continue;
            int brace = l.indexOf('{');
            int space = l.indexOf(' ');
            Map<String, String> labels = new LinkedHashMap<>();
            String name;
            int rest;
            if (brace >= 0 && (space < 0 || brace < space)) {
                name = l.substring(0, brace);
                rest = parseLabels(l, brace + 1, labels);
            } else {
                name = l.substring(0, space);
                rest = space;
            }
            String[] valueAndTime = l.substring(rest).strip().split("\\s+");
            out.add(new Sample(name, Collections.unmodifiableMap(labels), parseValue(valueAndTime[0])));
        }
        return new PrometheusScrape(List.copyOf(out));
    }

    /** Reads {@code key="value",...} from {@code i} to the closing brace; returns the index after it. */
    private static int parseLabels(String l, int i, Map<String, String> labels) {
        while (true) {
            while (l.charAt(i) == ',' || l.charAt(i) == ' ') i++;
            if (l.charAt(i) == '}') return i + 1;
            int eq = l.indexOf('=', i);
            String key = l.substring(i, eq).strip();
            i = eq + 1;
            if (l.charAt(i) != '"') throw new IllegalArgumentException("Bad label value at " + i + " of: " + l);
            StringBuilder v = new StringBuilder();
            for (i++; l.charAt(i) != '"'; i++) {
                char c = l.charAt(i);
                if (c == '\\') {
                    char n = l.charAt(++i);
                    v.append(n == 'n' ? '\n' : n);
                } else {
                    v.append(c);
                }
            }
            labels.put(key, v.toString());
            i++;
        }
    }

    private static double parseValue(String v) {
        return switch (v) {
            case "+Inf" -> Double.POSITIVE_INFINITY;
            case "-Inf" -> Double.NEGATIVE_INFINITY;
            case "NaN" -> Double.NaN;
            default -> Double.parseDouble(v);
        };
    }

    /** Every metric name in the scrape. */
    Set<String> names() {
        Set<String> s = new TreeSet<>();
        samples.forEach(x -> s.add(x.name()));
        return s;
    }

    /** The samples of metric {@code name}. */
    List<Sample> of(String name) {
        return samples.stream().filter(s -> s.name().equals(name)).toList();
    }

    /** The largest value of metric {@code name} over its series, NaN if absent or all NaN. */
    double max(String name) {
        return of(name).stream().mapToDouble(Sample::value).filter(d -> !Double.isNaN(d)).max().orElse(Double.NaN);
    }
}
