package io.wrnstream.jobs.update;

import io.wrnstream.model.io.ModelFile;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.util.Locale;
import java.util.UUID;
import org.apache.flink.core.fs.FSDataOutputStream;
import org.apache.flink.core.fs.FileSystem;
import org.apache.flink.core.fs.Path;

/**
 * Model files in a directory of any Flink file system ({@code file://}, {@code s3://}, {@code hdfs://}...), one folder per
 * model id. A file is written under a temporary name in the same folder and then renamed, so a reader never sees half a
 * file (on object stores, where rename is copy + delete, the object itself is only visible once complete). Names are
 * unique ({@code v000003-c12-s1500-<random>.wrnmodel}), so a file that a failure orphaned is never overwritten by a later one.
 *
 * <pre>{@code
 * ModelStore store = new ModelStore("s3://models/wrn");
 * ModelStore.Written w = store.write("wrn-16-4", 3, 12, 1500, fileBytes);
 * byte[] again = ModelFiles.read(w.location(), w.size(), w.sha256());
 * }</pre>
 */
public final class ModelStore {
    /** File-name extension of model files. */
    public static final String EXTENSION = ".wrnmodel";

    private final URI root;

    /** A store rooted at {@code rootUri} (a directory; created on first write). */
    public ModelStore(String rootUri) {
        this.root = URI.create(rootUri.endsWith("/") ? rootUri : rootUri + "/");
    }

    /** Where a written file is, and what it holds. */
    public record Written(String location, String sha256, long size) {}

    /** The folder of model {@code modelId}. */
    public Path folder(String modelId) {
        return new Path(root.resolve(modelId + "/"));
    }

    /** Writes {@code bytes} as version {@code version} of {@code modelId}: temporary name, then rename. */
    public Written write(String modelId, long version, long checkpointId, long step, byte[] bytes) {
        String name = String.format(Locale.ROOT, "v%06d-c%s-s%d-%s%s", version, checkpointId < 0 ? "final" : String.valueOf(checkpointId),
                step, UUID.randomUUID().toString().substring(0, 8), EXTENSION);
        Path dir = folder(modelId);
        Path target = new Path(dir, name);
        Path tmp = new Path(dir, "." + name + ".inprogress");
        try {
            FileSystem fs = target.getFileSystem();
            fs.mkdirs(dir);
            try (FSDataOutputStream out = fs.create(tmp, FileSystem.WriteMode.OVERWRITE)) {
                out.write(bytes);
                out.sync(); // durable before it is announced
            }
            if (!fs.rename(tmp, target)) {
                fs.delete(tmp, false);
                throw new IOException("rename of " + tmp + " to " + target + " returned false");
            }
            return new Written(target.makeQualified(fs).toUri().toString(), ModelFile.sha256(bytes), bytes.length);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot write model file " + target + " to the model store " + root, e);
        }
    }

}
