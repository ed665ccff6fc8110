package io.wrnstream.cli.deploy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;

/** Reading the deployment files (YAML manifests, compose files, Dockerfiles) for the tests that check them. */
final class DeploymentFiles {
    private DeploymentFiles() {}

    /** The repository root: the first folder above the working directory that holds docker/ and k8s/ next to mvnw. */
    static Path root() {
        Path p = Path.of("").toAbsolutePath();
        for (Path q = p; q != null; q = q.getParent()) {
            if (Files.isRegularFile(q.resolve("mvnw")) && Files.isDirectory(q.resolve("docker")) && Files.isDirectory(q.resolve("k8s"))) {
                return q;
            }
        }
        throw new IllegalStateException("No repository root (mvnw with docker/ and k8s/) above " + p);
    }

    static String read(Path file) {
        try {
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read " + file, e);
        }
    }

    /** Every document of a YAML file (a Kubernetes file may hold several, separated by ---). */
    static List<Map<String, Object>> yamlDocuments(Path file) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (Object doc : new Yaml(new LoaderOptions()).loadAll(read(file))) {
            if (doc == null) continue;
            if (!(doc instanceof Map<?, ?>)) throw new AssertionError(file + ": a document is not a mapping: " + doc);
            out.add(cast(doc));
        }
        return out;
    }

    /** The single document of a YAML file. */
    static Map<String, Object> yaml(Path file) {
        List<Map<String, Object>> docs = yamlDocuments(file);
        if (docs.size() != 1) throw new AssertionError(file + ": expected one YAML document, found " + docs.size());
        return docs.get(0);
    }

    @SuppressWarnings("unchecked")
    static <T> T cast(Object o) {
        return (T) o;
    }

    /** The mapping at {@code path} below {@code node}; fails naming the path when absent. */
    static Map<String, Object> map(Object node, String... path) {
        Object o = at(node, path);
        if (!(o instanceof Map<?, ?>)) throw new AssertionError("No mapping at " + String.join(".", path) + " in " + node);
        return cast(o);
    }

    static List<Object> list(Object node, String... path) {
        Object o = at(node, path);
        if (!(o instanceof List<?>)) throw new AssertionError("No list at " + String.join(".", path) + " in " + node);
        return cast(o);
    }

    /** The scalar at {@code path} as text (YAML numbers and booleans included), or null when absent. */
    static String str(Object node, String... path) {
        Object o = at(node, path);
        return o == null ? null : String.valueOf(o);
    }

    static Object at(Object node, String... path) {
        Object o = node;
        for (String p : path) {
            if (!(o instanceof Map<?, ?> m)) return null;
            o = m.get(p);
        }
        return o;
    }

    /** {@code key: value} lines, as the Flink image's entrypoint reads FLINK_PROPERTIES. */
    static Map<String, String> flinkProperties(String text) {
        Map<String, String> out = new LinkedHashMap<>();
        for (String line : text.split("\n")) {
            String l = line.strip();
            if (l.isEmpty() || l.startsWith("#")) continue;
            int colon = l.indexOf(':');
            if (colon <= 0) throw new AssertionError("FLINK_PROPERTIES line is not 'key: value': " + l);
            out.put(l.substring(0, colon).strip(), l.substring(colon + 1).strip());
        }
        return out;
    }

    /** One instruction of a Dockerfile, continuation lines joined. */
    record Instruction(String keyword, String arguments) {
        /** The words of the arguments, quotes removed (good enough for COPY and for -Dkey=value flags). */
        List<String> words() {
            List<String> out = new ArrayList<>();
            Matcher m = Pattern.compile("\"([^\"]*)\"|(\\S+)").matcher(arguments);
            while (m.find()) out.add(m.group(1) != null ? m.group(1) : m.group(2));
            return out;
        }
    }

    /** A COPY instruction: the stage it copies from (null = the build context), sources and destination. */
    record Copy(String from, List<String> sources, String destination) {}

    /** A parsed Dockerfile. */
    record Dockerfile(Path file, List<Instruction> instructions) {
        static Dockerfile parse(Path file) {
            List<Instruction> out = new ArrayList<>();
            StringBuilder cur = new StringBuilder();
            for (String raw : read(file).split("\n")) {
                String line = raw.strip();
                if (cur.isEmpty() && (line.isEmpty() || line.startsWith("#"))) continue;
                if (line.startsWith("#")) continue; // comment inside a continued instruction
                if (line.endsWith("\\")) {
                    cur.append(line, 0, line.length() - 1).append(' ');
                    continue;
                }
                cur.append(line);
                String s = cur.toString().strip();
                cur.setLength(0);
                int sp = s.indexOf(' ');
                out.add(new Instruction(s.substring(0, sp).toUpperCase(), s.substring(sp + 1).strip()));
            }
            return new Dockerfile(file, out);
        }

        List<Instruction> all(String keyword) {
            return instructions.stream().filter(i -> i.keyword().equals(keyword)).toList();
        }

        /** Default values of the ARG instructions. */
        Map<String, String> argDefaults() {
            Map<String, String> out = new LinkedHashMap<>();
            for (Instruction i : all("ARG")) {
                String[] kv = i.arguments().split("=", 2);
                out.put(kv[0].strip(), kv.length > 1 ? kv[1].strip() : "");
            }
            return out;
        }

        /** The images of the FROM instructions, ARG defaults substituted. */
        List<String> baseImages() {
            Map<String, String> args = argDefaults();
            List<String> out = new ArrayList<>();
            for (Instruction i : all("FROM")) {
                String image = i.words().get(0);
                for (Map.Entry<String, String> a : args.entrySet()) image = image.replace("${" + a.getKey() + "}", a.getValue());
                out.add(image);
            }
            return out;
        }

        List<Copy> copies() {
            List<Copy> out = new ArrayList<>();
            for (Instruction i : all("COPY")) {
                String from = null;
                List<String> paths = new ArrayList<>();
                for (String w : i.words()) {
                    if (w.startsWith("--from=")) from = w.substring("--from=".length());
                    else if (!w.startsWith("--")) paths.add(w);
                }
                out.add(new Copy(from, paths.subList(0, paths.size() - 1), paths.get(paths.size() - 1)));
            }
            return out;
        }

        /** Flink settings written at build time ({@code -Dkey=value} flags of RUN instructions). */
        Map<String, String> flinkSettings() {
            Map<String, String> out = new LinkedHashMap<>();
            for (Instruction i : all("RUN")) {
                for (String w : i.words()) {
                    if (w.startsWith("-D") && w.contains("=")) {
                        out.put(w.substring(2, w.indexOf('=')), w.substring(w.indexOf('=') + 1));
                    }
                }
            }
            return out;
        }

        /** The RUN instructions' text, joined. */
        String runText() {
            return String.join("\n", all("RUN").stream().map(Instruction::arguments).toList());
        }
    }
}
