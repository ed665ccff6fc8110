package io.wrnstream.jobs.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.wrnstream.jobs.config.JobConfig;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;

/**
 * The dashboard and its provisioning, checked without Grafana or Prometheus: the Kubernetes copy is the Docker one,
 * every query names a metric declared in {@link MetricNames}, and the data source, provider path and scrape targets
 * agree. {@link MetricsITCase} checks the same names against a live scrape.
 */
class DashboardFilesTest {
    private static final Path ROOT = PromQl.repoRoot();
    private static final Path DASHBOARD = ROOT.resolve("docker/grafana/dashboards/wrn-stream.json");

    @Test
    void kubernetesShipsTheSameDashboardByteForByte() throws Exception {
        assertThat(Files.readAllBytes(ROOT.resolve("k8s/grafana/wrn-stream-dashboard.json"))).isEqualTo(Files.readAllBytes(DASHBOARD));
    }

    @Test
    void everyQueriedMetricIsDeclaredInMetricNames() throws Exception {
        Set<String> declared = new HashSet<>(MetricNames.FLINK_BUILT_INS);
        List<String> names = new ArrayList<>();
        List<String> labelKeys = List.of(MetricNames.REASON, MetricNames.KIND);
        for (Field f : MetricNames.class.getFields()) {
            if (Modifier.isStatic(f.getModifiers()) && f.getType() == String.class && !f.getName().startsWith("FLINK_")) {
                names.add((String) f.get(null));
            }
        }
        for (String n : names) {
            declared.add(MetricNames.prometheus(n));
            labelKeys.forEach(k -> declared.add(MetricNames.prometheus(k, n)));
        }
        assertThat(PromQl.dashboardMetricNames(PromQl.readDashboard(DASHBOARD))).isSubsetOf(declared);
    }

    @Test
    void panelsHaveUniqueIdsTitlesAndQueriesOnTheDataSourceVariable() throws Exception {
        JsonNode d = PromQl.readDashboard(DASHBOARD);
        assertThat(d.path("uid").asText()).isEqualTo("wrn-stream");
        List<JsonNode> panels = PromQl.panels(d);
        assertThat(panels).extracting(p -> p.path("id").asInt()).doesNotHaveDuplicates();
        assertThat(panels).extracting(p -> p.path("title").asText())
                .contains("Learning curve: test error and training loss against images seen", "Throughput", "SGD step time",
                        "Learning rate and epochs", "Checkpoint duration", "Checkpoint size", "Kafka consumer lag",
                        "Backpressure and busy time", "Restarts and checkpoints", "Dead letters by reason", "Model version");
        for (JsonNode p : panels) {
            assertThat(p.path("targets").size()).as(p.path("title").asText()).isPositive();
            p.path("targets").forEach(t -> assertThat(t.path("datasource").path("uid").asText()).isEqualTo("${datasource}"));
            JsonNode g = p.path("gridPos");
            assertThat(g.path("x").asInt() + g.path("w").asInt()).as("panel inside the 24 columns").isLessThanOrEqualTo(24);
        }
        assertThat(d.path("templating").path("list")).anySatisfy(v -> {
            assertThat(v.path("type").asText()).isEqualTo("datasource");
            assertThat(v.path("query").asText()).isEqualTo("prometheus");
        });
    }

    @Test
    void provisioningPointsGrafanaAtPrometheusAndTheDashboardFolder() throws Exception {
        Map<?, ?> ds = yaml("docker/grafana/provisioning/datasources/prometheus.yml");
        Map<?, ?> source = (Map<?, ?>) ((List<?>) ds.get("datasources")).get(0);
        assertThat(source.get("type")).isEqualTo("prometheus");
        assertThat(source.get("url")).isEqualTo("http://prometheus:9090");
        Map<?, ?> provider = (Map<?, ?>) ((List<?>) yaml("docker/grafana/provisioning/dashboards/wrn-stream.yml").get("providers")).get(0);
        assertThat(((Map<?, ?>) provider.get("options")).get("path")).isEqualTo("/var/lib/grafana/dashboards");
    }

    @Test
    void prometheusScrapesFlinkOnTheReporterPortAndServe() throws Exception {
        List<String> targets = new ArrayList<>();
        for (Object job : (List<?>) yaml("docker/prometheus/prometheus.yml").get("scrape_configs")) {
            for (Object sc : (List<?>) ((Map<?, ?>) job).get("static_configs")) {
                for (Object t : (List<?>) ((Map<?, ?>) sc).get("targets")) targets.add((String) t);
            }
        }
        String reporterPort = JobConfig.PROMETHEUS_PORT.defaultValue().split("-")[0];
        assertThat(targets).contains("jobmanager:" + reporterPort, "taskmanager:" + reporterPort, "serve:8080");
    }

    private static Map<?, ?> yaml(String file) throws Exception {
        return (Map<?, ?>) new Load(LoadSettings.builder().build()).loadFromString(Files.readString(ROOT.resolve(file)));
    }
}
