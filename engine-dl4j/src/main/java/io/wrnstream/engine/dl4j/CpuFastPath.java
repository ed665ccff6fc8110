package io.wrnstream.engine.dl4j;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The CPU fast path for DL4J 1.0.0-M2.1, on by default: about 7x more images/s for WRN-16-4 than DL4J's defaults.
 * Three things must all hold, and out of the box none is guaranteed:
 * <ol>
 *   <li><b>oneDNN native binary.</b> {@code libnd4jcpu} comes in a plain build and oneDNN builds (the pom ships the
 *       {@code linux-x86_64-onednn-avx512} and {@code linux-x86_64-onednn} classifiers). {@link #enable()} sets the
 *       JavaCPP system property {@value #PLATFORM_EXTENSION} to {@code -onednn-avx512} when {@code /proc/cpuinfo}
 *       lists {@code avx512f}, else {@code -onednn}, before ND4J loads.</li>
 *   <li><b>Layer helpers allowed.</b> DL4J creates no layer helper unless {@value #HELPERS_DISABLE} is
 *       {@code false}, and ND4J's environment must allow helpers.</li>
 *   <li><b>Helper check fixed.</b> M2.1 looks for a class that moved; the shim {@link org.nd4j.nativeblas.Nd4jCpu}
 *       puts it back.</li>
 * </ol>
 *
 * <p><b>Fallback.</b> A binary that cannot load must not take the process down. Two guards: the extension is only
 * chosen when the CPU flags, OS/arch and the binary's jar resource all say it can load (so an avx512 build is never
 * picked on a CPU without avx512f, where it would die with SIGILL rather than an exception), and JavaCPP itself
 * falls back to the plain build when the extension's library is missing. After ND4J has loaded, {@link #status()}
 * reads the build flags of the library actually loaded ({@code HAVE_ONEDNN}) and logs one line if the oneDNN build
 * was asked for but the plain one runs. A failed native load cannot be retried inside one JVM (the binding class is
 * then unusable), which is why the decision is made from these checks before loading, not by trial.
 *
 * <p><b>Off switch.</b> {@code -D}{@value #SWITCH}{@code =false} leaves helpers disabled and forces the plain binary
 * (by naming the extension {@code -plain}, which no jar provides, so JavaCPP loads the plain build), so a benchmark
 * can compare both in separate JVMs.
 *
 * <p>This is the one documented piece of process-wide mutable state: native libraries and DL4J's helper switches are
 * per JVM. {@link #enable()} is idempotent and must run before the first use of ND4J (the DL4J engine calls it from
 * its static initialiser, the CLI from {@code main}); called later it can still enable helpers but not swap the binary.
 */
public final class CpuFastPath {
    /** System property that turns the fast path off ({@code false}); on when absent. */
    public static final String SWITCH = "wrn.fastpath";
    /** JavaCPP's property choosing the native build variant. */
    public static final String PLATFORM_EXTENSION = "org.bytedeco.javacpp.platform.extension";
    /** DL4J's property gating all layer helpers (default {@code true}, meaning disabled). */
    public static final String HELPERS_DISABLE = "org.eclipse.deeplearning4j.helpers.disable";

    private static final Logger LOG = LoggerFactory.getLogger(CpuFastPath.class);
    private static final String BINARY_DIR = "org/nd4j/linalg/cpu/nativecpu/bindings/linux-x86_64%s/libnd4jcpu.so";
    private static final AtomicBoolean ENABLED = new AtomicBoolean();
    private static final AtomicBoolean REPORTED = new AtomicBoolean();
    private static volatile String requestedExtension;
    private static volatile String decision = "not enabled yet";

    private CpuFastPath() {}

    /**
     * What the fast path achieved in this JVM.
     *
     * @param onednnBinary the loaded {@code libnd4jcpu} was built with oneDNN
     * @param helpersEnabled DL4J may create layer helpers (system property and ND4J environment)
     * @param helperActive DL4J's own check {@code BaseMKLDNNHelper.mklDnnEnabled()} answers true, so conv and
     *                     BatchNorm layers get oneDNN helpers
     * @param reason how the binary was chosen, and why anything is off
     */
    public record Status(boolean onednnBinary, boolean helpersEnabled, boolean helperActive, String reason) {
        /** All three parts are in place. */
        public boolean active() {
            return onednnBinary && helpersEnabled && helperActive;
        }
    }

    /** Whether {@value #SWITCH} asks for the fast path (default yes). */
    public static boolean requested() {
        return !"false".equalsIgnoreCase(System.getProperty(SWITCH, "true").trim());
    }

    /** Sets the system properties of the fast path (or of the plain path if switched off); idempotent. */
    public static void enable() {
        if (!ENABLED.compareAndSet(false, true)) {
            return;
        }
        if (!requested()) {
            setIfAbsent(PLATFORM_EXTENSION, "-plain");
            System.setProperty(HELPERS_DISABLE, "true");
            decision = "fast path off (" + SWITCH + "=false): plain binary, helpers disabled";
            return;
        }
        System.setProperty(HELPERS_DISABLE, "false");
        String userChoice = System.getProperty(PLATFORM_EXTENSION);
        if (userChoice != null) {
            requestedExtension = userChoice;
            decision = "binary extension '" + userChoice + "' set by the user";
            return;
        }
        String ext = chooseExtension();
        if (ext == null) {
            decision = "no oneDNN binary usable here (" + decisionDetail + "): plain binary";
            return;
        }
        requestedExtension = ext;
        System.setProperty(PLATFORM_EXTENSION, ext);
        decision = "chose binary extension '" + ext + "' (" + decisionDetail + ")";
    }

    private static volatile String decisionDetail = "";

    private static String chooseExtension() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        if (!os.contains("linux") || !(arch.equals("amd64") || arch.equals("x86_64"))) {
            decisionDetail = "only linux-x86_64 oneDNN builds are shipped, this is " + os + "/" + arch;
            return null;
        }
        String flags = cpuFlags();
        boolean avx512 = flags.contains(" avx512f ");
        String ext = avx512 ? "-onednn-avx512" : "-onednn";
        if (!hasBinary(ext)) {
            if (avx512 && hasBinary("-onednn")) {
                decisionDetail = "avx512f present but the -onednn-avx512 jar is missing";
                return "-onednn";
            }
            decisionDetail = "the nd4j-native " + ext + " jar is not on the class path";
            return null;
        }
        decisionDetail = avx512 ? "CPU has avx512f" : "CPU lacks avx512f";
        return ext;
    }

    private static boolean hasBinary(String ext) {
        return CpuFastPath.class.getClassLoader().getResource(String.format(BINARY_DIR, ext)) != null;
    }

    private static String cpuFlags() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("flags")) {
                    return " " + line.substring(line.indexOf(':') + 1).trim() + " ";
                }
            }
        } catch (IOException | RuntimeException e) {
            // No /proc: treat as no avx512; the generic oneDNN build runs on any x86-64.
        }
        return " ";
    }

    private static void setIfAbsent(String key, String value) {
        if (System.getProperty(key) == null) {
            System.setProperty(key, value);
        }
    }

    /**
     * Loads ND4J if needed, allows its helpers when the fast path is on, and reports what is active. The first call
     * logs one line with the outcome (a warning if the oneDNN build was requested but the plain one loaded).
     */
    public static Status status() {
        enable();
        org.nd4j.linalg.factory.Environment env = org.nd4j.linalg.factory.Nd4j.getEnvironment();
        boolean on = requested();
        if (on && !env.helpersAllowed()) {
            env.allowHelpers(true);
        }
        String build = org.nd4j.nativeblas.NativeOpsHolder.getInstance().getDeviceNativeOps().buildInfo();
        boolean onednn = build != null && build.contains("HAVE_ONEDNN");
        boolean helpers = "false".equalsIgnoreCase(System.getProperty(HELPERS_DISABLE, "true")) && env.helpersAllowed();
        boolean active = helpers && org.deeplearning4j.nn.layers.mkldnn.BaseMKLDNNHelper.mklDnnEnabled();
        String reason = decision;
        boolean fellBack = requestedExtension != null && requestedExtension.contains("onednn") && !onednn;
        if (fellBack) {
            reason += "; the " + requestedExtension + " binary did not load, running the plain binary";
        }
        Status s = new Status(onednn, helpers, active, reason);
        if (REPORTED.compareAndSet(false, true)) {
            if (fellBack) {
                LOG.warn("CPU fast path: oneDNN binary '{}' unavailable, fell back to the plain ND4J binary ({})",
                        requestedExtension, s);
            } else {
                LOG.info("CPU fast path: {}", s);
            }
        }
        return s;
    }
}
