package io.wrnstream.jobs.train;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.apache.flink.core.fs.FileSystem;
import org.apache.flink.core.fs.Path;

/**
 * How the trainer ranks find each other without a configured address: rank 0 starts the group's store on a free
 * port and writes {@code host:port} to a small file under the checkpoint directory, keyed by job, attempt and restore
 * point ({@code <checkpoint.dir>/trainer-group/<job>/attempt-<a>-restore-<checkpoint>}); the other ranks wait for that
 * file. Every restart (all ranks restart together: {@code failover-strategy: full}) has a new attempt number, hence a
 * new file and a fresh group; a file of an earlier attempt is never read. The checkpoint directory is shared by every
 * TaskManager already (Flink needs that for restores), so it is a place all ranks can reach.
 *
 * <p>Written through Flink's {@link FileSystem}, so any checkpoint storage scheme works (file, s3, hdfs...).
 */
public final class Rendezvous {
    private Rendezvous() {}

    /** The key of one group generation: job, attempt and restore point (0: a fresh start). */
    public static String generation(String jobId, int attempt, long restoredCheckpoint) {
        return jobId + "/attempt-" + attempt + "-restore-" + restoredCheckpoint;
    }

    /** The rendezvous file of {@code generation} under {@code checkpointDir}. */
    public static Path file(String checkpointDir, String generation) {
        return new Path(new Path(checkpointDir, "trainer-group"), generation);
    }

    /** Rank 0: announces its store address (written to a temporary name, then renamed: a reader never sees half). */
    public static void publish(Path file, InetSocketAddress address) {
        try {
            FileSystem fs = file.getFileSystem();
            fs.mkdirs(file.getParent());
            Path tmp = new Path(file.getParent(), file.getName() + ".tmp");
            try (OutputStream out = fs.create(tmp, FileSystem.WriteMode.OVERWRITE)) {
                out.write((address.getHostString() + ":" + address.getPort()).getBytes(StandardCharsets.UTF_8));
            }
            if (!fs.rename(tmp, file)) throw new IOException("rename of " + tmp + " to " + file + " failed");
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot publish the trainer group's address to " + file, e);
        }
    }

    /**
     * Ranks 1..N-1: waits for rank 0's address, polling every 50 ms.
     *
     * @throws IllegalStateException when it does not appear within {@code timeout}
     */
    public static InetSocketAddress await(Path file, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        try {
            FileSystem fs = file.getFileSystem();
            while (true) {
                if (fs.exists(file)) {
                    String s = read(fs, file).trim();
                    int colon = s.lastIndexOf(':');
                    if (colon > 0) return new InetSocketAddress(s.substring(0, colon), Integer.parseInt(s.substring(colon + 1)));
                }
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("Rank 0 of the trainer group did not announce its address at " + file + " within "
                            + timeout + " (trainer.group-timeout): is every trainer rank running, and checkpoint.dir shared by all TaskManagers?");
                }
                Thread.sleep(50); // polling a file: nothing to wait on
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read the trainer group's address at " + file, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while waiting for the trainer group's address at " + file, e);
        }
    }

    /** Removes the file (best effort; rank 0 on close). */
    public static void remove(Path file) {
        try {
            file.getFileSystem().delete(file, false);
        } catch (IOException e) {
            // left behind: keyed by attempt, it is never read again
        }
    }

    private static String read(FileSystem fs, Path file) throws IOException {
        try (InputStream in = fs.open(file)) {
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            in.transferTo(b);
            return b.toString(StandardCharsets.UTF_8);
        }
    }
}
