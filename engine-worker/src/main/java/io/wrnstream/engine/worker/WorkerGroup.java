package io.wrnstream.engine.worker;

import com.fasterxml.jackson.databind.JsonNode;
import io.wrnstream.model.engine.EngineOptions;
import io.wrnstream.model.engine.GroupSpec;
import io.wrnstream.model.engine.ProcessGroup;
import java.net.InetSocketAddress;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A data-parallel group of worker engines: {@code torch.distributed} inside a PyTorch worker process of its own, over
 * a c10d {@code TCPStore} that rank 0's worker hosts, a {@code PrefixStore} per generation, Gloo on the CPU and NCCL
 * on CUDA devices (one rank per GPU), every wait bounded by {@link GroupSpec#timeout()}.
 *
 * <p>The collective must run in the process that holds the model's tensors (NCCL reduces device memory), but a group
 * is opened before the engine exists ({@link WorkerEngineProvider#openGroup}). So the worker that joined the group
 * becomes the engine's: at its first step over this group the engine moves its state into this worker (one transfer
 * of parameters and momentum, as at a restore) and ends its own ({@link #adopt}). From then on the engine and the
 * group share the process, which ends when both are closed. One engine per group: a second is refused.
 *
 * <p>Failures: a peer that died fails the others' all-reduce (Gloo: at once, from the broken connection; NCCL: within
 * the timeout, with blocking waits on), reported by the engine's step naming the rank, the group and the backend. A
 * group is not reused after a failure: a restart opens a fresh one (a new {@link GroupSpec#generation()}).
 */
final class WorkerGroup implements ProcessGroup {
    private static final Logger LOG = LoggerFactory.getLogger(WorkerGroup.class);

    private final GroupSpec spec;
    private final WorkerProcess worker;
    private final String device;
    private final String backend;
    private boolean open = true;
    private WorkerEngine engine;

    private WorkerGroup(GroupSpec spec, WorkerProcess worker, String device, String backend) {
        this.spec = spec;
        this.worker = worker;
        this.device = device;
        this.backend = backend;
    }

    /**
     * Starts a worker and joins the group {@code spec} describes on the device {@code options} names (blocks until every
     * rank joined, at most the timeout per wait); rank 0's worker first hosts the store and its address goes to
     * {@code hosted}.
     *
     * @throws IllegalStateException naming the rank, the group and the reason when the worker cannot join
     */
    static WorkerGroup open(GroupSpec spec, EngineOptions options, Consumer<InetSocketAddress> hosted) {
        WorkerProcess w = WorkerProcess.start();
        try {
            Map<String, Object> h = new LinkedHashMap<>();
            h.put("op", "group_store");
            h.put("rank", spec.rank());
            h.put("size", spec.size());
            h.put("host", spec.host());
            h.put("port", spec.port());
            h.put("generation", spec.generation());
            h.put("timeout_ms", spec.timeout().toMillis());
            h.put("device", options.device());
            JsonNode store = w.call(h, List.of(), null);
            if (spec.rank() == 0) {
                InetSocketAddress address = new InetSocketAddress(spec.host(), store.get("port").asInt());
                LOG.info("Rank 0 of {} hosts the group store at {} (generation {})", spec.size(), address, spec.generation());
                hosted.accept(address);
            }
            w.call(Map.of("op", "group_join"), List.of(), null);
            WorkerGroup g = new WorkerGroup(spec, w, store.get("device").asText(), store.get("backend").asText());
            LOG.info("Rank {} of {} joined group {} over {} on {}", spec.rank(), spec.size(), spec.generation(), g.backend, g.device);
            return g;
        } catch (RuntimeException e) {
            w.close();
            throw new IllegalStateException("Rank " + spec.rank() + " of " + spec.size() + " could not join group " + spec.generation()
                    + " (store " + spec.host() + ":" + spec.port() + ", timeout " + spec.timeout().toMillis() + " ms): " + e.getMessage(), e);
        }
    }

    @Override
    public int rank() {
        return spec.rank();
    }

    @Override
    public int size() {
        return spec.size();
    }

    /** The device the group's worker reduces on ({@code cpu}, {@code cuda:N}), as its PyTorch resolved it. */
    String device() {
        return device;
    }

    /** {@code gloo} or {@code nccl}. */
    String backend() {
        return backend;
    }

    /** The group's generation, for messages. */
    String generation() {
        return spec.generation();
    }

    /**
     * Gives {@code e} this group's worker to train in (the engine then closes its own); returns the worker.
     *
     * @throws IllegalStateException when the group is closed, already serves another engine, or reduces on another
     *                               device than the engine computes on
     */
    synchronized WorkerProcess adopt(WorkerEngine e, String engineDevice) {
        if (!open) throw new IllegalStateException("Group " + spec.generation() + " is closed");
        if (engine != null && engine != e) {
            throw new IllegalStateException("Group " + spec.generation() + " already serves another worker engine: one engine per rank and group");
        }
        if (!device.equals(engineDevice)) {
            throw new IllegalStateException("The worker engine on " + engineDevice + " cannot train in group " + spec.generation()
                    + ", which reduces on " + device + " (" + backend + "): open the group with the engine's device option");
        }
        engine = e;
        return worker;
    }

    /** The engine that {@link #adopt adopted} this group's worker is done with it. */
    synchronized void engineClosed(WorkerEngine e) {
        if (engine != e) return;
        engine = null;
        if (!open) worker.close();
    }

    /** Whether {@code e} trains in this group's worker. */
    synchronized boolean serves(WorkerEngine e) {
        return engine == e;
    }

    @Override
    public long arrive(String key) {
        checkOpen();
        return worker.call(Map.of("op", "group_add", "key", key, "amount", 1), List.of(), null).get("value").asLong();
    }

    private synchronized void checkOpen() {
        if (!open) throw new IllegalStateException("Group " + spec.generation() + " is closed");
    }

    /** Leaves the group; the worker process ends now, or when the engine training in it closes. */
    @Override
    public synchronized void close() {
        if (!open) return;
        open = false;
        if (!worker.closed()) {
            try {
                worker.call(Map.of("op", "group_close"), List.of(), null);
            } catch (RuntimeException e) {
                LOG.debug("Leaving group {} on rank {}: {}", spec.generation(), spec.rank(), e.toString());
            }
        }
        if (engine == null) worker.close();
    }

    /** The group's worker, for tests that kill it. */
    WorkerProcess worker() {
        return worker;
    }

    @Override
    public String toString() {
        return "WorkerGroup[rank " + spec.rank() + " of " + spec.size() + ", " + spec.generation() + ", " + backend + " on " + device + "]";
    }
}
