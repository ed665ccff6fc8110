package io.wrnstream.serve;

import io.wrnstream.kafka.update.UpdateSigning;
import io.wrnstream.model.Defaults;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code serve}: the prediction service. Follows the model-updates topic (or serves the one file given with
 * {@code --model}) and answers {@code POST /v1/predict} with the top-k classes; see {@link ModelServer} for the endpoints.
 *
 * <pre>
 * wrn-stream serve --bootstrap kafka:9092 --topic wrn.model-updates --port 8080
 * wrn-stream serve --model /tmp/wrn-stream/final.wrnmodel
 * curl -s --data-binary @cat.png 'http://localhost:8080/v1/predict?k=3'
 * </pre>
 */
@Command(name = "serve", mixinStandardHelpOptions = true, sortOptions = false,
        description = "HTTP prediction service that follows the model-updates topic and hot-swaps models.")
public final class ServeCommand implements Callable<Integer> {

    @Option(names = "--port", defaultValue = "8080", description = "HTTP port (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--bind", defaultValue = "127.0.0.1", description = "Address to listen on (default: ${DEFAULT-VALUE}, this machine"
            + " only; 0.0.0.0 for every interface).")
    String bind;

    @Option(names = "--model", paramLabel = "FILE", description = "Serve this model file instead of following the topic.")
    Path model;

    @Option(names = "--bootstrap", defaultValue = Defaults.BOOTSTRAP_SERVERS, description = "Kafka bootstrap servers (default: ${DEFAULT-VALUE}).")
    String bootstrap;

    @Option(names = "--topic", defaultValue = Defaults.TOPIC_MODEL_UPDATES, description = "Model-updates topic (default: ${DEFAULT-VALUE}).")
    String topic;

    @Option(names = "--model-id", description = "Follow only updates of this model id (default: any).")
    String modelId;

    @Option(names = "--allow-downgrade", description = "Load the newest update by offset even when its version is lower than the"
            + " served one (rolling a model back); by default serve never goes back to an older version.")
    boolean allowDowngrade;

    @Option(names = "--signing-key-file", paramLabel = "FILE", description = "Load only model updates signed (HMAC-SHA256) with the"
            + " key in FILE, as the job signs them with model.signing-key-file (default: unsigned updates are loaded).")
    Path signingKeyFile;

    @Option(names = "--kafka", paramLabel = "KEY=VALUE", description = "Kafka consumer property, e.g. --kafka security.protocol=SSL (repeatable).")
    Map<String, String> kafka = new LinkedHashMap<>();

    @Option(names = "--threads", defaultValue = "4", description = "Request threads (default: ${DEFAULT-VALUE}).")
    int threads;

    @Option(names = "--max-request-bytes", defaultValue = "1048576", description = "Largest request body, larger gets 413 (default: ${DEFAULT-VALUE}).")
    int maxRequestBytes;

    @Option(names = "--max-connections", defaultValue = "256", description = "Most open connections; a slow client holds only its own"
            + " (default: ${DEFAULT-VALUE}).")
    int maxConnections;

    @Option(names = "--request-timeout", defaultValue = "10", paramLabel = "SECONDS",
            description = "Longest time a client may take to send its request, headers and body (default: ${DEFAULT-VALUE}).")
    int requestTimeoutSeconds;

    @Option(names = "--class-names", split = ",", paramLabel = "NAME", description = "Class names in label order (default: CIFAR-10, "
            + "Fashion-MNIST or CIFAR-100 names by the model's classes and channels, else class-<i>).")
    List<String> classNames;

    /** A started service: the HTTP server and, when following the topic, the follower. */
    public record Running(ModelServer server, ModelFollower follower) implements AutoCloseable {
        @Override
        public void close() {
            if (follower != null) follower.close();
            server.close();
        }
    }

    /** The validated service settings of these options. */
    public ServeConfig serveConfig() {
        return new ServeConfig(bind, port, threads, maxRequestBytes, classNames, maxConnections, java.time.Duration.ofSeconds(requestTimeoutSeconds));
    }

    /**
     * Starts the server, then loads {@code --model} (on this thread) or starts following the topic.
     *
     * @throws IllegalArgumentException for bad settings or a model file that does not verify
     */
    public Running start() throws IOException {
        ServeConfig config = serveConfig();
        ModelServer server = ModelServer.start(config);
        try {
            if (model != null) {
                server.loadFile(model);
                return new Running(server, null);
            }
            Properties p = new Properties();
            p.putAll(kafka);
            p.put("bootstrap.servers", bootstrap);
            return new Running(server, new ModelFollower(server, topic, modelId, p, allowDowngrade,
                    signingKeyFile == null ? null : UpdateSigning.fromFile(signingKeyFile)));
        } catch (RuntimeException e) {
            server.close();
            throw e;
        }
    }

    @Override
    public Integer call() throws Exception {
        Running running = start();
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            running.close();
            stopped.countDown();
        }, "wrn-serve-shutdown"));
        System.err.println("serve: listening on http://" + bind + ":" + running.server().port()
                + (model != null ? " with " + model : " following " + topic + " at " + bootstrap));
        stopped.await();
        return 0;
    }
}
