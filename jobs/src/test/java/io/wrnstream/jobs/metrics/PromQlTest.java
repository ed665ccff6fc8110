package io.wrnstream.jobs.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

class PromQlTest {

    @Test
    void stripsLabelMatchersEvenWithBracesAndCommasInTheirValues() {
        assertThat(PromQl.metricNames("max(flink_x_loss{job_name=~\"$job\",quantile=\"0.5\",odd=\"a{b},c\"})"))
                .containsExactly("flink_x_loss");
    }

    @Test
    void stripsRangesLabelListsAndFunctions() {
        assertThat(PromQl.metricNames("sum by (reason) (rate(dead_letters{job=\"j\"}[$__rate_interval]))")).containsExactly("dead_letters");
        assertThat(PromQl.metricNames("sum(rate(x_total[5m])) without (instance)")).containsExactly("x_total");
        assertThat(PromQl.metricNames("histogram_quantile(0.95, sum by (le) (rate(http_seconds_bucket[5m])))"))
                .containsExactly("http_seconds_bucket");
        assertThat(PromQl.metricNames("max_over_time(rate(requests_total[1m])[10m:1m])")).containsExactly("requests_total");
    }

    @Test
    void keepsBothSidesOfBinaryOperationsButNotKeywordsNumbersOrOffsets() {
        assertThat(PromQl.metricNames("a_one / on(job) group_left(instance) b_two * 60 > bool 1e3 or c_three offset 5m unless d:four"))
                .containsExactly("a_one", "b_two", "c_three", "d:four");
        assertThat(PromQl.metricNames("rate(x[1m] @ end()) > Inf and y == NaN")).containsExactly("x", "y");
    }

    @Test
    void ignoresStringArgumentsAndReadsNameMatchers() {
        assertThat(PromQl.metricNames("label_replace(up{job=\"x\"}, \"dst\", \"$1 foo_bar\", \"src\", \"(.*)\")")).containsExactly("up");
        assertThat(PromQl.metricNames("{__name__=\"flink_by_name\", job=\"x\"}")).containsExactly("flink_by_name");
    }

    @Test
    void readsGrafanaLabelValuesQueries() {
        assertThat(PromQl.metricNames("label_values(flink_jobmanager_job_numRestarts, job_name)")).containsExactly("flink_jobmanager_job_numRestarts");
        assertThat(PromQl.metricNames("label_values(m{a=\"b,c\"}, job_name)")).containsExactly("m");
        assertThat(PromQl.metricNames("label_values(job_name)")).isEmpty();
    }

    @Test
    void findsTheMetricsOfEveryPanelAndVariableOfTheDashboard() throws Exception {
        JsonNode d = PromQl.readDashboard(PromQl.repoRoot().resolve("docker/grafana/dashboards/wrn-stream.json"));
        assertThat(PromQl.dashboardQueries(d)).containsKey("variable $job").hasSizeGreaterThan(20);
        assertThat(PromQl.dashboardMetricNames(d))
                .contains(MetricNames.prometheus(MetricNames.TEST_ERROR), MetricNames.prometheus(MetricNames.REASON, MetricNames.DEAD_LETTERS),
                        MetricNames.FLINK_LAST_CHECKPOINT_DURATION, MetricNames.FLINK_RESTARTS)
                .allSatisfy(n -> assertThat(n).startsWith("flink_").doesNotContain("job_name").isNotEqualTo("max"));
    }

    @Test
    void parsesPrometheusTextWithEscapedLabelValues() {
        PrometheusScrape s = PrometheusScrape.parse("""
                # HELP a_b help
                # TYPE a_b gauge
                a_b{job_name="x \\"q\\" y",quantile="0.5",} 1.5
                c_d 2.0
                e_f{k="v"} NaN
                """);
        assertThat(s.names()).containsExactly("a_b", "c_d", "e_f");
        assertThat(s.of("a_b").get(0).labels()).containsEntry("job_name", "x \"q\" y").containsEntry("quantile", "0.5");
        assertThat(s.max("a_b")).isEqualTo(1.5);
        assertThat(s.max("e_f")).isNaN();
    }
}
