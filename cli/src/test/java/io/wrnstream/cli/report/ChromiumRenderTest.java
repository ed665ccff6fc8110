package io.wrnstream.cli.report;

import static org.assertj.core.api.Assertions.assertThat;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Renders a report in headless Chromium (when installed) and checks the screenshot shows the curves. */
class ChromiumRenderTest {
    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");

    @TempDir
    Path dir;

    @Test
    void reportRendersInHeadlessChromium() throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(CHROMIUM),
                "SKIPPED: " + CHROMIUM + " not installed (apt-get install chromium) - the report's rendering is not checked");
        Path html = dir.resolve("report.html");
        Files.writeString(html, HtmlReport.render(LearningCurve.parse(Curves.jobLines(30)), "render check", "model: wrn-10-1"));
        BufferedImage img = screenshot(html);
        long nonWhite = 0, errorBlue = 0, lossRed = 0;
        for (int y = 0; y < img.getHeight(); y++) {
            for (int x = 0; x < img.getWidth(); x++) {
                int rgb = img.getRGB(x, y);
                int r = (rgb >> 16) & 0xFF, g = (rgb >> 8) & 0xFF, b = rgb & 0xFF;
                if (r < 240 || g < 240 || b < 240) nonWhite++;
                if (near(r, g, b, 0x1f, 0x4e, 0x9c)) errorBlue++;
                if (near(r, g, b, 0xc0, 0x39, 0x2b)) lossRed++;
            }
        }
        long total = (long) img.getWidth() * img.getHeight();
        assertThat(nonWhite).as("not blank").isGreaterThan(total / 200);
        assertThat(errorBlue).as("test-error curve drawn").isGreaterThan(200);
        assertThat(lossRed).as("test-loss curve drawn").isGreaterThan(100);
    }

    @Test
    void comparisonReportRendersEveryArmInHeadlessChromium() throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(CHROMIUM),
                "SKIPPED: " + CHROMIUM + " not installed (apt-get install chromium) - the comparison report's rendering is not checked");
        Path html = dir.resolve("comparison.html");
        Files.writeString(html, ComparisonReport.render("render check", "four arms", "REDUCED-BUDGET MINIATURE, NOT THE PAPER'S PROTOCOL: test",
                true, "test machine", ComparisonReportTest.arms(4)));
        BufferedImage img = screenshot(html);
        long[] perArm = new long[4];
        long banner = 0;
        for (int y = 0; y < img.getHeight(); y++) {
            for (int x = 0; x < img.getWidth(); x++) {
                int rgb = img.getRGB(x, y);
                int r = (rgb >> 16) & 0xFF, g = (rgb >> 8) & 0xFF, b = rgb & 0xFF;
                for (int i = 0; i < 4; i++) {
                    int c = Integer.parseInt(ComparisonReport.COLOURS.get(i).substring(1), 16);
                    if (near(r, g, b, c >> 16, (c >> 8) & 0xFF, c & 0xFF)) perArm[i]++;
                }
                if (Math.abs(r - 0xfd) < 6 && Math.abs(g - 0xf6) < 6 && Math.abs(b - 0xd8) < 8) banner++;  // the banner's pale yellow
            }
        }
        for (int i = 0; i < 4; i++) assertThat(perArm[i]).as("arm " + i + "'s curves drawn in " + ComparisonReport.COLOURS.get(i)).isGreaterThan(300);
        assertThat(banner).as("the miniature banner shows").isGreaterThan(2000);
    }

    /** Screenshot of {@code html} in headless Chromium, 1200 px wide. */
    private BufferedImage screenshot(Path html) throws Exception {
        Path png = dir.resolve("shot.png");
        Process p = new ProcessBuilder(List.of(CHROMIUM.toString(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--user-data-dir=" + dir.resolve("profile"), "--screenshot=" + png, "--window-size=1200,900", html.toUri().toString()))
                .redirectErrorStream(true).redirectOutput(dir.resolve("chromium.log").toFile()).start();
        boolean done = p.waitFor(120, TimeUnit.SECONDS);
        if (!done) p.destroyForcibly();
        assertThat(done).as("chromium finished within 120 s").isTrue();
        assertThat(png).as(Files.readString(dir.resolve("chromium.log"))).exists();
        BufferedImage img = ImageIO.read(png.toFile());
        assertThat(img.getWidth()).isEqualTo(1200);
        return img;
    }

    private static boolean near(int r, int g, int b, int r0, int g0, int b0) {
        return Math.abs(r - r0) < 40 && Math.abs(g - g0) < 40 && Math.abs(b - b0) < 40;
    }
}
