package io.wrnstream.kafka.ingest;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;

/**
 * Creates topics and waits until they can take writes. A topic is ready only when every partition has a leader that
 * answers a ListOffsets request: producing earlier can hit {@code NOT_LEADER_OR_FOLLOWER}, and an idempotent producer
 * retrying through that can lose its sequence and drop records.
 */
public final class Topics {

    private static final long POLL_MS = 50;

    private Topics() {
    }

    /**
     * Creates the topics among {@code names} that do not exist yet (replication factor {@code replicationFactor}, or
     * the broker default when {@code <= 0}), then waits until every partition of every named topic is ready.
     *
     * @return the names of the topics this call created
     * @throws IllegalArgumentException when {@code partitions < 1}
     * @throws TimeoutException when the topics are not ready within {@code timeout}
     */
    public static Set<String> ensure(Admin admin, int partitions, short replicationFactor, Duration timeout,
                                     Collection<String> names) throws InterruptedException, ExecutionException,
            TimeoutException {
        if (partitions < 1) {
            throw new IllegalArgumentException("Invalid value " + partitions + " for partitions: must be >= 1");
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        Set<String> existing = admin.listTopics().names().get(remainingMs(deadline, timeout), TimeUnit.MILLISECONDS);
        List<NewTopic> missing = new ArrayList<>();
        for (String name : names) {
            if (!existing.contains(name)) {
                missing.add(replicationFactor > 0 ? new NewTopic(name, partitions, replicationFactor)
                        : new NewTopic(name, java.util.Optional.of(partitions), java.util.Optional.empty()));
            }
        }
        Set<String> created = new java.util.TreeSet<>();
        for (Map.Entry<String, org.apache.kafka.common.KafkaFuture<Void>> e
                : admin.createTopics(missing).values().entrySet()) {
            try {
                e.getValue().get(remainingMs(deadline, timeout), TimeUnit.MILLISECONDS);
                created.add(e.getKey());
            } catch (ExecutionException ex) {
                if (!(ex.getCause() instanceof TopicExistsException)) throw ex; // a concurrent creator won: fine
            }
        }
        awaitReady(admin, names, deadline, timeout);
        return created;
    }

    /** Waits until every partition of {@code names} has a leader that serves ListOffsets. */
    public static void awaitReady(Admin admin, Collection<String> names, Duration timeout)
            throws InterruptedException, ExecutionException, TimeoutException {
        awaitReady(admin, names, System.nanoTime() + timeout.toNanos(), timeout);
    }

    private static void awaitReady(Admin admin, Collection<String> names, long deadline, Duration timeout)
            throws InterruptedException, ExecutionException, TimeoutException {
        String lastProblem = "no answer yet";
        while (true) {
            try {
                Map<String, TopicDescription> topics = admin.describeTopics(names).allTopicNames()
                        .get(remainingMs(deadline, timeout), TimeUnit.MILLISECONDS);
                Map<TopicPartition, OffsetSpec> partitions = new HashMap<>();
                String leaderless = null;
                for (TopicDescription d : topics.values()) {
                    for (TopicPartitionInfo p : d.partitions()) {
                        if (p.leader() == null || p.leader().isEmpty()) leaderless = d.name() + "-" + p.partition();
                        partitions.put(new TopicPartition(d.name(), p.partition()), OffsetSpec.latest());
                    }
                }
                if (leaderless == null) {
                    admin.listOffsets(partitions).all().get(remainingMs(deadline, timeout), TimeUnit.MILLISECONDS);
                    return;
                }
                lastProblem = "partition " + leaderless + " has no leader";
            } catch (ExecutionException e) {
                // Metadata of a just-created topic reaches the broker a little later; anything else is real.
                if (!(e.getCause() instanceof UnknownTopicOrPartitionException)
                        && !(e.getCause() instanceof org.apache.kafka.common.errors.NotLeaderOrFollowerException)
                        && !(e.getCause() instanceof org.apache.kafka.common.errors.LeaderNotAvailableException)) {
                    throw e;
                }
                lastProblem = e.getCause().getMessage();
            }
            if (System.nanoTime() - deadline >= 0) {
                throw new TimeoutException("Topics " + names + " not ready for writes after " + timeout.toMillis()
                        + " ms: " + lastProblem);
            }
            TimeUnit.MILLISECONDS.sleep(POLL_MS); // polling interval of a bounded wait, not synchronisation
        }
    }

    private static long remainingMs(long deadline, Duration timeout) throws TimeoutException {
        long ms = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
        if (ms <= 0) throw new TimeoutException("Kafka did not answer within " + timeout.toMillis() + " ms");
        return ms;
    }
}
