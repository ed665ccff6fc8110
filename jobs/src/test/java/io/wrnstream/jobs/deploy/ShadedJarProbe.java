package io.wrnstream.jobs.deploy;

import io.wrnstream.jobs.TrainingJob;
import io.wrnstream.jobs.cli.Main;
import io.wrnstream.jobs.config.JobConfig;
import io.wrnstream.jobs.publish.KafkaIo;
import org.apache.flink.runtime.jobgraph.JobGraph;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Run by {@link ShadedJarIT} inside a class loader that holds only the job jar and the Flink distribution's
 * classes, as on a cluster: builds the job exactly as {@link TrainingJob#main} does up to submission (graph and
 * serialised operators), runs one ND4J operation (natives from the jar), and loads the command line that the
 * image's wrn-stream launcher runs.
 */
public final class ShadedJarProbe {
    private ShadedJarProbe() {}

    /** What was checked, as text: the job graph's vertex count, an ND4J sum, the ND4J backend, the CLI exit code. */
    public static String run() throws Exception {
        JobConfig c = JobConfig.fromArgs("--bootstrap-servers", "localhost:9", "--checkpoint.dir", "file:///tmp/wrn-probe/checkpoints");
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(TrainingJob.flinkConfiguration(c));
        new TrainingJob(c).defineWorkflow(env, KafkaIo.trainingSource(c), TrainingJob.Sinks.kafka(c));
        JobGraph graph = env.getStreamGraph().getJobGraph(ShadedJarProbe.class.getClassLoader());
        double sum = Nd4j.ones(2, 3).sumNumber().doubleValue();
        int help = Main.commandLine().execute("ingest", "--help");
        return "vertices=" + graph.getNumberOfVertices() + " nd4jSum=" + sum + " backend=" + Nd4j.getBackend().getClass().getName()
                + " ingestHelp=" + help;
    }
}
