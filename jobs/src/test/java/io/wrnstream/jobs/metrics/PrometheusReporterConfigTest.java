package io.wrnstream.jobs.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import io.wrnstream.jobs.TrainingJob;
import io.wrnstream.jobs.config.JobConfig;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.MetricOptions;
import org.apache.flink.metrics.prometheus.PrometheusReporterFactory;
import org.junit.jupiter.api.Test;

class PrometheusReporterConfigTest {

    @Test
    void embeddedFlinkGetsThePrometheusReporterOnTheConfiguredPorts() {
        Configuration f = TrainingJob.flinkConfiguration(JobConfig.fromArgs("--metrics.prometheus.port", "9300-9310"));
        Configuration prom = MetricOptions.forReporter(f, TrainingJob.PROMETHEUS_REPORTER);
        assertThat(prom.get(MetricOptions.REPORTER_FACTORY_CLASS)).isEqualTo(PrometheusReporterFactory.class.getName());
        assertThat(prom.toMap()).containsEntry("port", "9300-9310");
    }

    @Test
    void portZeroConfiguresNoReporter() {
        Configuration f = TrainingJob.flinkConfiguration(JobConfig.fromArgs("--metrics.prometheus.port", "0"));
        assertThat(f.toMap().keySet()).noneMatch(k -> k.startsWith("metrics.reporter."));
    }
}
