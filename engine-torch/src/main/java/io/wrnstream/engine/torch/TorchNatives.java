package io.wrnstream.engine.torch;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URL;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.Loader;

/**
 * Loads libtorch's native libraries safely and picks the device. Must run before any {@code org.bytedeco.pytorch}
 * class is touched.
 *
 * <p>Why: with a system libtorch installed (Debian's {@code libtorch-dev}, which comes with {@code python3-torch}),
 * the first run on an empty JavaCPP cache crashed the JVM every time, because the dynamic loader found the system's
 * older {@code libtorch_cpu.so} before JavaCPP had extracted the preset's. Extracting the preset's copy into the
 * cache first ({@link Loader#cacheResource(URL)}, a no-op when already cached) fixed it. Idempotent; no state.
 *
 * <p>The GPU build ({@code -Ptorch-gpu}) has the same pitfall in a worse form: its {@code libtorch_cuda.so} needs
 * cuBLAS, cuSPARSE, cuDNN and NCCL, which neither its jar nor {@code cuda-redist} carries. Where they are missing the
 * preset's {@code libtorch.so} cannot load, JavaCPP falls back to {@code System.loadLibrary("torch")}, finds Debian's
 * libtorch 1.13 and the JVM dies in {@code pthread_mutex_lock}. So before loading, {@link #load()} reads the
 * libraries {@code libtorch_cuda.so} needs (its ELF {@code DT_NEEDED} entries) and refuses in one line, naming the
 * missing ones and where they come from, if the jars and the loader path do not provide them all.
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
                    URL cuda = TorchNatives.class.getResource("/org/bytedeco/pytorch/" + dir + "/libtorch_cuda.so");
                    if (cuda != null) checkGpuLibraries(Loader.cacheResource(cuda).toPath(), platform);
                } catch (IOException e) {
                    throw new UncheckedIOException("Cannot extract libtorch for " + dir + " into the JavaCPP cache", e);
                }
                break;
            }
        }
        Loader.load(org.bytedeco.pytorch.global.torch.class);
        adviseAllocator();
    }

    private static volatile boolean advised;

    /**
     * Logs once when the native allocator will fault every step's activations in afresh (measured: 20-25% of a
     * WRN-16-4 step on the CPU): glibc's with its defaults, or jemalloc without {@code oversize_threshold:0}, which
     * purges blocks over 8 MB at once (as in Flink's images, which preload it). {@code bin/wrn-stream} sets one up,
     * see {@code bin/allocator-env}.
     */
    private static void adviseAllocator() {
        if (advised) return;
        advised = true;
        String tunables = System.getenv().getOrDefault("GLIBC_TUNABLES", "");
        String preload = System.getenv().getOrDefault("LD_PRELOAD", "");
        String conf = System.getenv().getOrDefault("MALLOC_CONF", "");
        if (tunables.contains("mmap_max") || preload.contains("tcmalloc")) return;
        if (preload.contains("jemalloc") && conf.contains("oversize_threshold:0")) return;
        org.slf4j.LoggerFactory.getLogger(TorchNatives.class).info("The native allocator ({}) faults each training step's large activations "
                + "in afresh. For CPU training preload jemalloc with MALLOC_CONF=oversize_threshold:0,thp:always, or set GLIBC_TUNABLES={} "
                + "(bin/wrn-stream does either, see bin/allocator-env)", preload.contains("jemalloc") ? "jemalloc, MALLOC_CONF=" + conf : "glibc's defaults",
                RECOMMENDED_TUNABLES);
    }

    /** The allocator settings of {@code bin/glibc-tunables}. */
    static final String RECOMMENDED_TUNABLES = "glibc.malloc.arena_max=1:glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=17179869184:glibc.malloc.hugetlb=1";

    /** Whether the natives on the classpath are libtorch's GPU build ({@code -Ptorch-gpu}). */
    static boolean gpuBuild() {
        return TorchNatives.class.getResource("/org/bytedeco/pytorch/" + Loader.getPlatform() + "-gpu/libtorch_cuda.so") != null;
    }

    /**
     * Refuses, naming them, when libraries that {@code libtorchCuda} needs are neither in the preset jars nor on the
     * loader path.
     *
     * @throws IllegalStateException with the missing libraries and where they come from
     */
    static void checkGpuLibraries(Path libtorchCuda, String platform) throws IOException {
        List<String> missing = new ArrayList<>();
        byte[] ldCache = Files.isReadable(Path.of("/etc/ld.so.cache")) ? Files.readAllBytes(Path.of("/etc/ld.so.cache")) : new byte[0];
        for (String lib : neededLibraries(libtorchCuda)) {
            boolean inJars = TorchNatives.class.getResource("/org/bytedeco/pytorch/" + platform + "-gpu/" + lib) != null
                    || TorchNatives.class.getResource("/org/bytedeco/cuda/" + platform + "/" + lib) != null;
            if (!inJars && !onLoaderPath(lib, ldCache)) missing.add(lib);
        }
        if (!missing.isEmpty()) {
            throw new IllegalStateException("libtorch's GPU build (-Ptorch-gpu) cannot load here: " + String.join(", ", missing)
                    + " not found (cuda-redist carries only the CUDA runtime; cuBLAS, cuSPARSE, cuDNN and NCCL come from the image,"
                    + " e.g. nvidia/cuda:13.1.0-cudnn-runtime-ubuntu24.04, or the host). On this machine use the CPU build"
                    + " (no -Ptorch-gpu) or --engine worker on the host's PyTorch.");
        }
    }

    /** Whether the dynamic loader can find {@code lib}: {@code LD_LIBRARY_PATH}, {@code /etc/ld.so.cache}, the default directories. */
    private static boolean onLoaderPath(String lib, byte[] ldCache) {
        List<String> dirs = new ArrayList<>();
        String env = System.getenv("LD_LIBRARY_PATH");
        if (env != null) dirs.addAll(List.of(env.split(File.pathSeparator)));
        dirs.addAll(List.of("/lib64", "/usr/lib64", "/lib", "/usr/lib", "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu"));
        for (String d : dirs) {
            if (!d.isEmpty() && Files.exists(Path.of(d, lib))) return true;
        }
        return indexOf(ldCache, (lib + "\0").getBytes(StandardCharsets.US_ASCII)) >= 0;
    }

    /** The {@code DT_NEEDED} entries of a 64-bit little-endian ELF shared library (what {@code ldd} resolves). */
    static List<String> neededLibraries(Path elf) throws IOException {
        try (FileChannel ch = FileChannel.open(elf)) {
            ByteBuffer header = read(ch, 0, 64);
            if (header.getInt(0) != 0x464C457F || header.get(4) != 2 || header.get(5) != 1) {
                throw new IOException(elf + " is not a 64-bit little-endian ELF file");
            }
            long shoff = header.getLong(0x28);
            int shentsize = header.getShort(0x3A) & 0xFFFF, shnum = header.getShort(0x3C) & 0xFFFF;
            if (shnum == 0 || shentsize < 64 || shnum > 65_535) throw new IOException(elf + ": no section headers");
            ByteBuffer sections = read(ch, shoff, shentsize * shnum);
            List<String> needed = new ArrayList<>();
            for (int i = 0; i < shnum; i++) {
                int base = i * shentsize;
                if (sections.getInt(base + 4) != 6) continue;                        // SHT_DYNAMIC
                long off = sections.getLong(base + 0x18), size = sections.getLong(base + 0x20);
                int strIndex = sections.getInt(base + 0x28);
                int strBase = strIndex * shentsize;
                ByteBuffer strtab = read(ch, sections.getLong(strBase + 0x18), (int) Math.min(sections.getLong(strBase + 0x20), 1 << 24));
                ByteBuffer dyn = read(ch, off, (int) Math.min(size, 1 << 20));
                for (int e = 0; e + 16 <= dyn.limit(); e += 16) {
                    long tag = dyn.getLong(e);
                    if (tag == 0) break;                                            // DT_NULL
                    if (tag == 1) needed.add(cString(strtab, (int) dyn.getLong(e + 8)));   // DT_NEEDED
                }
            }
            return needed;
        }
    }

    private static ByteBuffer read(FileChannel ch, long offset, int length) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(length).order(ByteOrder.LITTLE_ENDIAN);
        while (b.hasRemaining() && ch.read(b, offset + b.position()) > 0) { /* fill */ }
        return b.flip();
    }

    private static String cString(ByteBuffer b, int at) {
        int end = at;
        while (end < b.limit() && b.get(end) != 0) end++;
        byte[] s = new byte[end - at];
        b.get(at, s);
        return new String(s, StandardCharsets.US_ASCII);
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) if (haystack[i + j] != needle[j]) continue outer;
            return i;
        }
        return -1;
    }
}
