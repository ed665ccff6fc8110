package io.wrnstream.jobs.deploy;

import io.wrnstream.jobs.TrainingJob;
import io.wrnstream.jobs.config.JobConfig;
import io.wrnstream.jobs.publish.KafkaIo;
import io.wrnstream.model.engine.Engines;
import org.apache.flink.runtime.jobgraph.JobGraph;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * Run by {@link ShadedJarIT} inside a class loader that holds only the job jar and the Flink distribution's
 * classes and the engine jars of the image's {@code lib/}, as on a cluster: builds the job exactly as
 * {@link TrainingJob#main} does up to submission (graph and serialised operators) and lists the engines the job
 * finds through ServiceLoader.
 */
public final class ShadedJarProbe {
    private ShadedJarProbe() {}

    /** What was checked, as text: the job graph's vertex count and the engines found. */
    public static String run() throws Exception {
        JobConfig c = JobConfig.fromArgs("--bootstrap-servers", "localhost:9", "--checkpoint.dir", "file:///tmp/wrn-probe/checkpoints");
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(TrainingJob.flinkConfiguration(c));
        new TrainingJob(c).defineWorkflow(env, KafkaIo.trainingSource(c), TrainingJob.Sinks.kafka(c));
        JobGraph graph = env.getStreamGraph().getJobGraph(ShadedJarProbe.class.getClassLoader());
        return "vertices=" + graph.getNumberOfVertices() + " engines=" + Engines.available();
    }
}
