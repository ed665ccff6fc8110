package io.wrnstream.jobs;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.util.Optional;
import org.apache.flink.core.fs.FileStatus;
import org.apache.flink.core.fs.FileSystem;
import org.apache.flink.core.fs.Path;

/**
 * The checkpoints Flink retained under {@code checkpoint.dir} ({@code <dir>/<job id>/chk-<n>/_metadata}), for
 * restoring a job: {@link #latest} is the most recently completed one of any job.
 */
public final class RetainedCheckpoints {
    private RetainedCheckpoints() {}

    /** The newest retained checkpoint (by its metadata's modification time) under {@code checkpointDir}, if any. */
    public static Optional<String> latest(String checkpointDir) {
        Path root = new Path(URI.create(checkpointDir));
        try {
            FileSystem fs = root.getFileSystem();
            if (!fs.exists(root)) return Optional.empty();
            String best = null;
            long bestTime = Long.MIN_VALUE;
            for (FileStatus job : list(fs, root)) {
                if (!job.isDir()) continue;
                for (FileStatus chk : list(fs, job.getPath())) {
                    if (!chk.isDir() || !chk.getPath().getName().startsWith("chk-")) continue;
                    Path metadata = new Path(chk.getPath(), "_metadata");
                    if (!fs.exists(metadata)) continue;
                    long t = fs.getFileStatus(metadata).getModificationTime();
                    if (t > bestTime) {
                        bestTime = t;
                        best = chk.getPath().makeQualified(fs).toUri().toString();
                    }
                }
            }
            return Optional.ofNullable(best);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot list the retained checkpoints in checkpoint.dir=" + checkpointDir, e);
        }
    }

    private static FileStatus[] list(FileSystem fs, Path p) throws IOException {
        FileStatus[] s = fs.listStatus(p);
        return s == null ? new FileStatus[0] : s;
    }
}
