package io.wrnstream.cli.reproduce;

import io.wrnstream.cli.demo.EmbeddedJob;
import io.wrnstream.cli.train.EvalRecord;
import io.wrnstream.cli.train.OfflineTraining;
import io.wrnstream.embedded.EmbeddedKafka;
import io.wrnstream.jobs.TrainingJob;
import io.wrnstream.jobs.config.JobConfig;
import io.wrnstream.jobs.eval.Evaluation;
import io.wrnstream.jobs.train.TrainerEvent;
import io.wrnstream.kafka.ingest.Ingest;
import io.wrnstream.kafka.ingest.IngestOptions;
import io.wrnstream.model.data.Split;
import io.wrnstream.model.engine.TrainConfig;
import io.wrnstream.model.io.ModelFile;
import io.wrnstream.model.progress.Progress;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.TreeMap;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * One arm through the streaming job on the embedded runtime ({@link EmbeddedJob}, as {@code demo} runs it): the
 * training split is ingested once per epoch of the budget (each pass in its own seeded order), the job trains to the
 * budget with the arm's recipe and evaluates on the test topic, and its results become the arm's evaluation lines.
 * The final model lands in the arm's folder, which marks the arm complete.
 *
 * <p>An interrupted streaming arm starts again from its beginning (the job's checkpoints are not resumed across
 * processes); finished arms are kept.
 */
final class StreamingArm {
    private StreamingArm() {}

    static void run(ReproduceCommand.ArmPlan p, Experiment ex, Budget budget, OfflineTraining.Data d, Path dataPath, PrintStream human,
                    PrintStream json, Progress progress, long[] doneBefore) throws Exception {
        if (p.startImages() > 0) {
            throw new IllegalStateException("Arm " + p.arm().name() + " in " + p.folder().dir + " was started offline; continue it without "
                    + "--streaming, or give another --out");
        }
        if (Files.exists(p.folder().evaluations)) {
            human.println("reproduce: " + p.arm().name() + ": an interrupted streaming run is started again from its beginning");
            Files.delete(p.folder().evaluations);
        }
        TrainConfig c = p.config();
        Path work = p.folder().dir.resolve("streaming");
        Files.createDirectories(work);
        try (EmbeddedKafka kafka = EmbeddedKafka.start()) {
            EmbeddedJob.Topics topics = new EmbeddedJob.Topics("repro." + p.arm().name());
            EmbeddedJob.createTopics(kafka, topics);
            int passes = (int) Math.ceil(budget.epochs());
            int limit = d.train().samples().size();
            human.println("reproduce: " + p.arm().name() + ": ingesting " + passes + " pass(es) of " + limit + " training images into "
                    + topics.train());
            new Ingest(IngestOptions.builder(dataPath, Split.TRAIN, topics.train(), kafka.bootstrapServers()).epochs(passes).seed(ex.seed())
                    .limit(limit).build()).run();
            new Ingest(IngestOptions.builder(dataPath, Split.TEST, topics.test(), kafka.bootstrapServers()).limit(d.test().samples().size())
                    .build()).run();
            Map<String, String> m = EmbeddedJob.settings(kafka, topics, work);
            m.put("model", c.wrn().name());
            m.put("dropout", String.valueOf(c.wrn().dropout()));
            m.put("engine", c.engine());
            m.put("precision", c.precision());
            m.put("input.shape", c.wrn().channels() + "x" + c.wrn().height() + "x" + c.wrn().width());
            m.put("classes", String.valueOf(c.wrn().classes()));
            m.put("batch-size", String.valueOf(c.batchSize()));
            m.put("seed", String.valueOf(c.seed()));
            m.put("optim.lr", String.valueOf(c.optim().learningRate()));
            m.put("optim.schedule", c.optim().schedule().name().toLowerCase(Locale.ROOT));
            m.put("optim.milestones", Arrays.stream(c.optim().milestones()).mapToObj(String::valueOf).collect(Collectors.joining(",")));
            m.put("optim.epochs", String.valueOf(c.optim().epochs()));
            m.put("optim.epoch-size", String.valueOf(c.optim().epochSize()));
            m.put("max-images", String.valueOf(p.target()));
            m.put("eval.limit", String.valueOf(d.test().samples().size()));
            m.put("snapshot.steps", String.valueOf(Math.max(1, p.evalInterval() / c.batchSize())));
            m.put("metrics.prometheus.port", "0");
            m.put("progress.steps", "1");   // every step's loss, so the training-loss curve is the offline one's
            JobConfig config = JobConfig.of(m);
            StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(TrainingJob.flinkConfiguration(config));
            long started = System.currentTimeMillis();
            long base = doneBefore[0];
            // Evaluations and trainer events come from two topics, each visible once its checkpoint commits, so an
            // evaluation may arrive before the step events it follows: the lines are written once the job is done (the
            // FINISHED event comes after every step event on the one-partition events topic).
            List<Evaluation> evaluations = new ArrayList<>();
            TreeMap<Long, TrainerEvent> steps = new TreeMap<>();
            EmbeddedJob.Listener listener = new EmbeddedJob.Listener() {
                @Override
                public void evaluation(Evaluation e, String line) {
                    evaluations.add(e);
                    human.printf(Locale.ROOT, "reproduce: %s (streaming) epoch %.2f: test error %.2f%%%s%n", p.arm().name(), e.epochs(),
                            100 * e.testError(), budget.miniature() ? " (miniature)" : "");
                }

                @Override
                public void event(TrainerEvent t) {
                    if (t.kind() != TrainerEvent.Kind.STEP) return;
                    steps.put(t.step(), t);
                    progress.update(base + t.imagesSeen(), String.format(Locale.ROOT, "%s (streaming) | epoch %.2f/%s | loss %.3f%s",
                            p.arm().name(), c.optim().epochOf(t.imagesSeen()), Budget.trim(budget.epochs()), t.loss(),
                            budget.miniature() ? " | miniature" : ""));
                }
            };
            EmbeddedJob.Outcome o = EmbeddedJob.run(env, config, kafka, topics, work, "wrn-stream reproduce " + ex.name() + ": " + p.arm().name(),
                    client -> human.println("reproduce: " + p.arm().name() + ": streaming job " + client.getJobID() + " started"), listener);
            if (!o.trainedAndEvaluated()) {
                throw new IllegalStateException("The streaming job of arm " + p.arm().name() + " ended before training and its final evaluation were done");
            }
            evaluations.sort(java.util.Comparator.comparingLong(Evaluation::step));
            long previous = 0;
            for (Evaluation e : evaluations) {
                // One event per step (progress.steps=1): the mean of the steps since the previous evaluation is its training loss.
                double sum = 0, lr = c.optim().learningRateAt(e.imagesSeen());
                int n = 0;
                for (TrainerEvent t : steps.subMap(previous, false, e.step(), true).values()) {
                    if (Double.isFinite(t.loss())) {
                        sum += t.loss();
                        n++;
                    }
                    lr = t.learningRate();
                }
                previous = e.step();
                EvalRecord r = new EvalRecord(EvalRecord.FORMAT, ex.name(), p.arm().name(), budget.protocol(), e.step(), e.imagesSeen(),
                        Math.round(e.epochs() * 1000) / 1000.0, n == 0 ? Double.NaN : sum / n, lr, e.testError(), e.testLoss(), e.images(),
                        e.evalMs() / 1000.0, (e.wallMs() - started) / 1000.0, e.wallMs());
                String out = r.toJson();
                p.folder().append(out);
                json.println(out);
            }
            json.flush();
            Path fin = work.resolve("final.wrnmodel");
            ModelFile.Loaded loaded = ModelFile.load(fin);   // verifies it
            Files.copy(fin, p.folder().model, StandardCopyOption.REPLACE_EXISTING);
            doneBefore[0] = base + loaded.provenance().imagesSeen();
        }
    }
}
