package io.wrnstream.engine.torch;

import io.wrnstream.model.engine.GroupSpec;
import io.wrnstream.model.engine.ProcessGroup;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.function.Consumer;
import org.bytedeco.javacpp.chrono.Milliseconds;
import org.bytedeco.pytorch.AllreduceOptions;
import org.bytedeco.pytorch.Backend;
import org.bytedeco.pytorch.PrefixStore;
import org.bytedeco.pytorch.ProcessGroupGloo;
import org.bytedeco.pytorch.ReduceOp;
import org.bytedeco.pytorch.TCPStore;
import org.bytedeco.pytorch.TCPStoreOptions;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.Work;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A data-parallel group of libtorch engines over PyTorch's c10d: a {@link TCPStore} hosted by rank 0 (the other ranks
 * connect to it), a {@link PrefixStore} per group generation, and one c10d {@link Backend}: Gloo for tensors on the
 * CPU, NCCL for tensors on CUDA devices (only with the GPU natives, {@code -Ptorch-gpu}). The engine sees only
 * {@link #allreduceSum}, so both backends sit behind this one class.
 *
 * <p><b>Failures.</b> Every collective waits at most the group timeout and then throws; a peer that died fails the
 * others' collective within about 0.1 s (Gloo's connection reset). A native wait does not notice Java interrupts, so
 * keep the timeout well below Flink's {@code task.cancellation.timeout}. A group is not reused after a failure.
 */
final class C10dGroup implements ProcessGroup {
    private static final Logger LOG = LoggerFactory.getLogger(C10dGroup.class);

    private final int rank;
    private final int size;
    private final long timeoutMillis;
    private final TCPStore store;
    private final PrefixStore prefixed;
    private final Backend backend;
    private final boolean cuda;
    private boolean closed;

    private C10dGroup(int rank, int size, long timeoutMillis, TCPStore store, PrefixStore prefixed, Backend backend, boolean cuda) {
        this.rank = rank;
        this.size = size;
        this.timeoutMillis = timeoutMillis;
        this.store = store;
        this.prefixed = prefixed;
        this.backend = backend;
        this.cuda = cuda;
    }

    /**
     * Joins the group {@code spec} describes (blocks until every rank joined, at most the timeout); rank 0 first starts
     * the store and reports its address to {@code hosted}.
     *
     * @param cuda NCCL on CUDA tensors, else Gloo on CPU tensors
     */
    static C10dGroup open(GroupSpec spec, Consumer<InetSocketAddress> hosted, boolean cuda) {
        TorchNatives.load();
        long ms = spec.timeout().toMillis();
        TCPStoreOptions o = new TCPStoreOptions();
        o.port((short) spec.port());
        o.isServer(spec.rank() == 0);
        o.waitWorkers(false);
        o.timeout(new Milliseconds(ms));
        TCPStore store = new TCPStore(spec.host(), o);
        if (spec.rank() == 0) {
            InetSocketAddress address = new InetSocketAddress(spec.host(), store.getPort() & 0xFFFF);
            LOG.info("Rank 0 of {} hosts the group store at {} (generation {})", spec.size(), address, spec.generation());
            hosted.accept(address);
        }
        PrefixStore prefixed = new PrefixStore(spec.generation(), store);
        Backend backend = cuda ? nccl(prefixed, spec) : gloo(prefixed, spec, ms);
        LOG.info("Rank {} of {} joined group {} over {}", spec.rank(), spec.size(), spec.generation(), cuda ? "NCCL" : "Gloo");
        return new C10dGroup(spec.rank(), spec.size(), ms, store, prefixed, backend, cuda);
    }

    private static Backend gloo(PrefixStore store, GroupSpec spec, long ms) {
        ProcessGroupGloo.Options options = ProcessGroupGloo.Options.create(new Milliseconds(ms));
        options.devices().push_back(ProcessGroupGloo.createDeviceForHostname(localAddressTowards(spec)));
        return new ProcessGroupGloo(store, spec.rank(), spec.size(), options);
    }

    /** NCCL's classes load only with the GPU natives; on the CPU build this fails with the reason. */
    private static Backend nccl(PrefixStore store, GroupSpec spec) {
        try {
            return new org.bytedeco.pytorch.nccl.ProcessGroupNCCL(store, spec.rank(), spec.size());
        } catch (LinkageError e) {
            throw new IllegalStateException("NCCL is not in these libtorch natives (" + e + "): build with -Ptorch-gpu for a data-parallel "
                    + "group on GPUs, or train on the CPU (Gloo)", e);
        }
    }

    /** The local address this rank reaches rank 0 from: the one the Gloo device must listen on. */
    private static String localAddressTowards(GroupSpec spec) {
        if (spec.rank() == 0) return spec.host();
        try (DatagramSocket probe = new DatagramSocket()) {
            probe.connect(InetAddress.getByName(spec.host()), spec.port());
            return probe.getLocalAddress().getHostAddress();
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot find the local address towards rank 0 at " + spec.host() + ":" + spec.port(), e);
        }
    }

    @Override
    public int rank() {
        return rank;
    }

    @Override
    public int size() {
        return size;
    }

    /** Whether the group reduces CUDA tensors (NCCL) rather than CPU tensors (Gloo). */
    boolean cuda() {
        return cuda;
    }

    /** The timeout of every collective. */
    Duration timeout() {
        return Duration.ofMillis(timeoutMillis);
    }

    /** Adds {@code t} over all ranks, in place; the result is bit-identical on every rank. */
    void allreduceSum(Tensor t) {
        if (closed) throw new IllegalStateException("Group is closed");
        AllreduceOptions options = new AllreduceOptions();
        options.reduceOp(new ReduceOp(ReduceOp.RedOpType.SUM));
        options.timeout(new Milliseconds(timeoutMillis));
        Work w = backend.allreduce(new TensorVector(t), options);
        if (!w._wait(new Milliseconds(timeoutMillis))) {
            throw new IllegalStateException("All-reduce on rank " + rank + " of " + size + " did not complete within " + timeoutMillis + " ms");
        }
    }

    @Override
    public long arrive(String key) {
        return prefixed.add(key, 1);
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        try {
            backend.shutdown();
        } catch (RuntimeException e) {
            LOG.debug("Group backend shutdown on rank {}: {}", rank, e.toString());
        }
        backend.close();
        prefixed.close();
        store.close();
    }
}
