package io.wrnstream.engine.torch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class TorchNativesTest {

    private static final Path LIBJAVA = Path.of(System.getProperty("java.home"), "lib", "libjava.so");

    @Test
    void theAllocatorAdviceIsWhatTheLauncherSets() throws IOException {
        Path file = Path.of(System.getProperty("user.dir")).getParent().resolve("bin/glibc-tunables");
        org.assertj.core.api.Assertions.assertThat(java.nio.file.Files.readString(file).strip())
                .as("bin/glibc-tunables and TorchNatives.RECOMMENDED_TUNABLES").isEqualTo(TorchNatives.RECOMMENDED_TUNABLES);
    }

    @Test
    void readsTheLibrariesAnElfSharedObjectNeeds() throws IOException {
        // the JDK's own libjava.so links against libjvm.so and libc, like ldd says
        assertThat(TorchNatives.neededLibraries(LIBJAVA)).contains("libjvm.so").anyMatch(l -> l.startsWith("libc.so"));
    }

    @Test
    void gpuCheckNamesTheLibrariesTheLoaderCannotFind() throws IOException {
        // libjava.so needs libjvm.so, which lives under the JDK, not on the loader path
        Path dir = Files.createTempDirectory("elf");
        Files.copy(LIBJAVA, dir.resolve("libjava.so"));
        assertThatThrownBy(() -> TorchNatives.checkGpuLibraries(dir.resolve("libjava.so"), "linux-x86_64"))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageStartingWith("libtorch's GPU build (-Ptorch-gpu) cannot load here: libjvm.so not found")
                .hasMessageContaining("cuBLAS, cuSPARSE, cuDNN and NCCL come from the image");
    }

    @Test
    void notAnElfFileIsRefused() throws IOException {
        Path f = Files.createTempFile("not", ".so");
        Files.write(f, new byte[64]);
        assertThatThrownBy(() -> TorchNatives.neededLibraries(f)).hasMessageContaining("is not a 64-bit little-endian ELF file");
    }
}
