package io.wrnstream.cli;

import java.util.List;
import picocli.CommandLine;

/**
 * Shared command-line plumbing: the offline commands of the model module, and error handling that turns a bad
 * setting into one clear line and a non-zero exit instead of a stack trace.
 */
public final class Cli {
    /** Exit code for bad arguments or settings. */
    public static final int USAGE = 2;
    /** Exit code for a failure while running. */
    public static final int FAILURE = 1;

    private Cli() {}

    /** The model module's commands: {@code train}, {@code bench}, {@code params}. */
    public static List<Object> modelCommands() {
        return List.of(new TrainCommand(), new BenchCommand(), new ParamsCommand());
    }

    /** Configures {@code cli} so that validation errors print {@code error: <message>} and exit with {@link #USAGE}. */
    public static CommandLine configure(CommandLine cli) {
        cli.setExecutionExceptionHandler((ex, cmd, parseResult) -> {
            if (ex instanceof IllegalArgumentException || ex instanceof IllegalStateException) {
                cmd.getErr().println("error: " + ex.getMessage());
                return USAGE;
            }
            cmd.getErr().println("error: " + ex);
            ex.printStackTrace(cmd.getErr());
            return FAILURE;
        });
        return cli;
    }

    /** Entry point of the model module alone: {@code train}, {@code bench}, {@code params}. */
    public static void main(String[] args) {
        CommandLine cli = new CommandLine(new Root());
        for (Object c : modelCommands()) cli.addSubcommand(c);
        System.exit(configure(cli).execute(args));
    }

    @CommandLine.Command(name = "wrn-stream", mixinStandardHelpOptions = true,
            description = "Offline WRN commands.", subcommands = CommandLine.HelpCommand.class)
    static final class Root implements Runnable {
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public void run() {
            throw new CommandLine.ParameterException(spec.commandLine(), "Missing command: choose one of " + spec.subcommands().keySet());
        }
    }
}
