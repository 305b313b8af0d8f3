package io.normstats.jobs;

import io.normstats.InputException;
import io.normstats.minibatch.CompareSettings;
import io.normstats.minibatch.Comparison;
import io.normstats.minibatch.Estimator;
import io.normstats.spark.ExactStatistics;
import io.normstats.spark.FeatureSelection;
import io.normstats.spark.Inputs;
import io.normstats.spark.MinibatchComparison;
import io.normstats.spark.OrderedInput;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code normstats compare}: how far the minibatch statistics and the moving-average estimates of
 * deep-learning frameworks are from the exact dataset statistics, per feature and in summary, for
 * several batch sizes. Writes DIR/compare.json and DIR/compare.parquet (see {@link CompareOutput}).
 *
 * <p>Two passes over the input: the exact statistics (which also fix the input order), then one
 * pass that shuffles the rows into minibatch order once per epoch for all batch sizes
 * ({@link MinibatchComparison}).
 */
@Command(name = "compare", mixinStandardHelpOptions = true, sortOptions = false,
    description = {
        "How far minibatch statistics and the moving averages of PyTorch, Keras, PreciseBN and "
            + "Ioffe & Szegedy are from the exact dataset statistics, per feature and batch size, "
            + "and the train/inference gap of BatchNorm and Batch Renormalization.",
        "Writes DIR/compare.json and DIR/compare.parquet."},
    exitCodeListHeading = "Exit codes:%n",
    exitCodeList = {"0:done", "1:bad data (NaN, infinite or null values, vectors of different "
        + "lengths, unreadable file)", "2:usage error (options, batch size outside [2, rows], "
        + "missing input, unknown or non-numeric column, existing output)"})
public final class CompareJob implements Callable<Integer> {
  private static final Logger LOG = LoggerFactory.getLogger(CompareJob.class);

  @Mixin InputOptions in;

  @Option(names = "--batch-sizes", split = ",", paramLabel = "M", defaultValue = "8,32,128,512",
      description = "Batch sizes to simulate (default: ${DEFAULT-VALUE}).")
  List<Integer> batchSizes;

  @Option(names = "--shuffle-seed", paramLabel = "S",
      description = "Seed of the per-epoch random order (default: 0).")
  Long shuffleSeed;

  @Option(names = "--no-shuffle", description = "Keep the input order (files by name, rows in file "
      + "order) in every epoch.")
  boolean noShuffle;

  @Option(names = "--epochs", defaultValue = "1", paramLabel = "E",
      description = "Passes over the data (default: ${DEFAULT-VALUE}).")
  int epochs;

  @Option(names = "--drop-last", description = "Drop each epoch's last partial batch (the default, "
      + "as PyTorch DataLoader drop_last=True).")
  boolean dropLast;

  @Option(names = "--keep-last", description = "Keep each epoch's last partial batch (unless it "
      + "has one row).")
  boolean keepLast;

  @Option(names = "--momentum", defaultValue = "0.1", paramLabel = "A",
      description = "PyTorch BatchNorm momentum (default: ${DEFAULT-VALUE}).")
  double momentum;

  @Option(names = "--keras-momentum", defaultValue = "0.99", paramLabel = "B",
      description = "Keras BatchNormalization momentum (default: ${DEFAULT-VALUE}).")
  double kerasMomentum;

  @Option(names = "--epsilon", defaultValue = "1e-5", paramLabel = "EPS",
      description = "BatchNorm epsilon (default: ${DEFAULT-VALUE}, as PyTorch).")
  double epsilon;

  @Option(names = "--trace-points", defaultValue = "200", paramLabel = "P",
      description = "Checkpoints in the moving-average traces (default: ${DEFAULT-VALUE}).")
  int tracePoints;

  @Option(names = "--renorm-rmax", defaultValue = "3", paramLabel = "R",
      description = "Batch Renormalization r_max (default: ${DEFAULT-VALUE}).")
  double renormRmax;

  @Option(names = "--renorm-dmax", defaultValue = "5", paramLabel = "D",
      description = "Batch Renormalization d_max (default: ${DEFAULT-VALUE}).")
  double renormDmax;

  @Mixin SparkOptions spark;

  @Override
  public Integer call() throws Exception {
    CompareSettings settings = settings();
    SparkSession session = spark.session("compare");
    long start = System.nanoTime();
    OutputDirectory out = OutputDirectory.prepare(
        session.sparkContext().hadoopConfiguration(), in.output, in.overwrite, in.input);
    boolean committed = false;
    ExactStatistics.Ordered exact;
    Comparison.Result result;
    try {
      OrderedInput input = Inputs.readOrdered(session, in.input, in.format);
      FeatureSelection selection = FeatureSelection.resolve(input.data(), in.features, in.vectorCol);
      LOG.info("compare: exact statistics of {} features of {}", selection.size(), in.input);
      exact = ExactStatistics.computeOrdered(input, selection);
      StatsJob.checkNoInvalid(exact.result(), "minibatch statistics need complete rows: "
          + "remove or impute them first");
      long rows = exact.order().rows();
      for (int m : settings.batchSizes()) {
        if (m > rows) {
          throw InputException.usage("batch size " + m + " is larger than the input's " + rows
              + " rows");
        }
      }
      LOG.info("compare: {} rows; exact pass done in {} s; minibatches of {}", rows,
          seconds(start), batchSizes);
      long phase = System.nanoTime();
      result = MinibatchComparison.compute(input, selection, exact, settings);
      LOG.info("compare: minibatch pass done in {} s", seconds(phase));
      CompareOutput.write(session, exact.result(), settings, result, out);
      out.commit("compare");
      committed = true;
    } finally {
      if (!committed) {
        out.abort();
      }
    }
    LOG.info("compare: done in {} s", seconds(start));
    String dir = out.target().toUri().getPath();
    System.out.println("compare: " + exact.result().rows() + " rows, "
        + exact.result().features().size() + " features, " + epochs + " epoch"
        + (epochs == 1 ? "" : "s") + ", " + (settings.shuffle()
            ? "shuffled (seed " + settings.seed() + ")" : "input order")
        + "; wrote " + dir + "/compare.json and " + dir + "/compare.parquet");
    System.out.print(table(result, settings));
    return 0;
  }

  private CompareSettings settings() {
    if (noShuffle && shuffleSeed != null) {
      throw InputException.usage("give either --shuffle-seed or --no-shuffle, not both");
    }
    if (dropLast && keepLast) {
      throw InputException.usage("give either --drop-last or --keep-last, not both");
    }
    try {
      return new CompareSettings(batchSizes.stream().mapToInt(Integer::intValue).toArray(), epochs,
          !noShuffle, shuffleSeed == null ? 0 : shuffleSeed, !keepLast, momentum, kerasMomentum,
          epsilon, tracePoints, renormRmax, renormDmax);
    } catch (IllegalArgumentException e) {
      throw InputException.usage(e.getMessage());
    }
  }

  /** The median over features of the variance's relative error, per batch size and estimator. */
  static String table(Comparison.Result result, CompareSettings settings) {
    StringBuilder sb = new StringBuilder();
    sb.append("median over features of |var - var_pop| / var_pop:\n");
    sb.append(String.format(Locale.ROOT, "%10s", "batch size"));
    for (Estimator e : Estimator.values()) {
      sb.append(String.format(Locale.ROOT, " %10s", e.wireName()));
    }
    sb.append('\n');
    for (int m : settings.batchSizes()) {
      sb.append(String.format(Locale.ROOT, "%10d", m));
      for (Estimator e : Estimator.values()) {
        double v = result.results().stream()
            .filter(r -> r.batchSize() == m && r.estimator() == e).findFirst().orElseThrow()
            .summary().get("var_rel_err").median();
        sb.append(String.format(Locale.ROOT, " %10.3g", v));
      }
      sb.append('\n');
    }
    return sb.toString();
  }

  private static String seconds(long since) {
    return String.format(Locale.ROOT, "%.1f", (System.nanoTime() - since) / 1e9);
  }
}
