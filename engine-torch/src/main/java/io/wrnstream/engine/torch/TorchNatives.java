package io.wrnstream.engine.torch;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URL;
import org.bytedeco.javacpp.Loader;

/**
 * Loads libtorch's native libraries safely and picks the device. Must run before any {@code org.bytedeco.pytorch}
 * class is touched.
 *
 * <p>Why: with a system libtorch installed (Debian's {@code libtorch-dev}, which comes with {@code python3-torch}),
 * the first run on an empty JavaCPP cache crashed the JVM every time, because the dynamic loader found the system's
 * older {@code libtorch_cpu.so} before JavaCPP had extracted the preset's. Extracting the preset's copy into the
 * cache first ({@link Loader#cacheResource(URL)}, a no-op when already cached) fixed it. Idempotent; no state.
 */
final class TorchNatives {
    private TorchNatives() {}

    /** Extracts the preset's {@code libtorch_cpu.so} (GPU build first, then CPU build) and loads the JNI library. */
    static void load() {
        String platform = Loader.getPlatform();
        for (String dir : new String[] {platform + "-gpu", platform}) {
            URL url = TorchNatives.class.getResource("/org/bytedeco/pytorch/" + dir + "/libtorch_cpu.so");
            if (url != null) {
                try {
                    Loader.cacheResource(url);
                } catch (IOException e) {
                    throw new UncheckedIOException("Cannot extract libtorch_cpu.so for " + dir + " into the JavaCPP cache", e);
                }
                break;
            }
        }
        Loader.load(org.bytedeco.pytorch.global.torch.class);
    }
}
