package io.normstats.jobs;

import io.normstats.output.OutputDirectory;
import io.normstats.output.StatsOutput;
import io.normstats.output.StatsState;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code normstats merge-stats DIR1 DIR2 ... --output DIR}: combines the exact states of stats runs
 * over disjoint inputs (their DIR/state/) into the statistics of all of them, bit-identical to one
 * stats run over every input, with the combined state for later runs.
 */
@Command(name = "merge-stats", mixinStandardHelpOptions = true, sortOptions = false,
    description = {
        "Merges the outputs of stats runs over disjoint inputs into the statistics of all of "
            + "them, bit-identical to one run over every input.",
        "Writes DIR/stats.json, DIR/stats.parquet and DIR/state/."},
    exitCodeListHeading = "Exit codes:%n",
    exitCodeList = {"0:done", "2:usage error (a directory without a state, states of other "
        + "features, channels, group-by columns or format version, an input counted twice, an "
        + "existing output)"})
public final class MergeStatsJob implements Callable<Integer> {
  @Parameters(arity = "2..*", paramLabel = "DIR", description = "Outputs of stats runs.")
  List<String> runs;

  @Option(names = "--output", required = true, paramLabel = "DIR", description = "Output directory.")
  String output;

  @Option(names = "--overwrite", description = "Replace DIR if it holds a previous normstats output.")
  boolean overwrite;

  @Mixin SparkOptions spark;

  @Override
  public Integer call() throws Exception {
    SparkSession session = spark.session("merge-stats");
    StatsState.State state = StatsState.read(session, runs.get(0));
    String names = runs.get(0);
    for (String run : runs.subList(1, runs.size())) {
      state = StatsState.merge(state, names, StatsState.read(session, run), run);
      names = names + ", " + run;
    }
    OutputDirectory out = OutputDirectory.prepare(session.sparkContext().hadoopConfiguration(),
        output, overwrite, runs.toArray(new String[0]));
    boolean committed = false;
    try {
      if (state.groupBy().isEmpty()) {
        StatsOutput.writeWithState(session, state.result(), state, out);
      } else {
        StatsOutput.writeGroupedWithState(session, state.groupBy(), state.groups(), state, out);
      }
      out.commit("merge-stats");
      committed = true;
    } finally {
      if (!committed) {
        out.abort();
      }
    }
    System.out.println("merge-stats: " + runs.size() + " runs over " + state.inputs().size()
        + " inputs; wrote " + out.target().toUri().getPath() + "/stats.json");
    return 0;
  }
}
