package io.wrnstream.serve;

import picocli.CommandLine;

/**
 * Entry point of the serve image ({@code docker/Dockerfile.serve}): the {@code serve} command alone, without Flink on
 * the classpath. A bad setting prints one {@code error:} line and exits with 2; a failure while running exits with 1.
 *
 * <pre>
 * java -cp 'serve-lib/*' io.wrnstream.serve.ServeMain --bootstrap kafka:9092 --topic wrn.model-updates
 * </pre>
 */
public final class ServeMain {
    private ServeMain() {}

    public static void main(String[] args) {
        CommandLine cli = new CommandLine(new ServeCommand());
        cli.setExecutionExceptionHandler((ex, cmd, parseResult) -> {
            boolean usage = ex instanceof IllegalArgumentException || ex instanceof IllegalStateException;
            cmd.getErr().println("error: " + (usage ? ex.getMessage() : ex));
            if (!usage) ex.printStackTrace(cmd.getErr());
            return usage ? 2 : 1;
        });
        System.exit(cli.execute(args));
    }
}
