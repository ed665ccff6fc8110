package io.wrnstream.kafka.update;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.TopicExistsException;

/** Creates the model-updates topic: one partition (one ordered history), {@code cleanup.policy=compact}. */
public final class ModelUpdateTopic {
    /** Topic configuration of the model-updates topic. */
    public static final Map<String, String> CONFIG = Map.of(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT);

    private ModelUpdateTopic() {}

    /** Creates {@code name} compacted with {@code replicationFactor} (broker default when {@code <= 0}) unless it exists. */
    public static void ensure(Admin admin, String name, short replicationFactor, Duration timeout)
            throws InterruptedException, ExecutionException, TimeoutException {
        Set<String> existing = admin.listTopics().names().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        if (existing.contains(name)) return;
        NewTopic t = (replicationFactor > 0 ? new NewTopic(name, 1, replicationFactor)
                : new NewTopic(name, java.util.Optional.of(1), java.util.Optional.empty())).configs(CONFIG);
        try {
            admin.createTopics(List.of(t)).all().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            if (!(e.getCause() instanceof TopicExistsException)) throw e;
        }
        io.wrnstream.kafka.ingest.Topics.awaitReady(admin, List.of(name), timeout);
    }
}
