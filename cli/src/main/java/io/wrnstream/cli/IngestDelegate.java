package io.wrnstream.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Unmatched;

/** {@code ingest}: hands every argument ({@code --help} included) to {@link IngestCommand}, which owns its options. */
@Command(name = "ingest", description = "Publish a dataset split to a Kafka topic as image records (options: --help).")
final class IngestDelegate implements Callable<Integer> {

    @Unmatched
    List<String> args = new ArrayList<>();

    @Override
    public Integer call() {
        return IngestCommand.execute(args.toArray(String[]::new), System.out, System.err, System.console() != null);
    }
}
