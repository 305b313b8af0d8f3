package io.normstats.jobs;

import io.normstats.InputException;
import io.normstats.minibatch.CompareSettings;
import io.normstats.minibatch.Comparison;
import io.normstats.minibatch.Estimator;
import io.normstats.output.CompareOutput;
import io.normstats.output.OutputDirectory;
import io.normstats.result.DatasetStatistics;
import io.normstats.result.FeatureStatistics;
import io.normstats.spark.ExactStatistics;
import io.normstats.spark.FeatureSelection;
import io.normstats.spark.input.Inputs;
import io.normstats.spark.MinibatchComparison;
import io.normstats.spark.OrderedInput;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

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

  @Mixin CompareOptions options;

  @Mixin SparkOptions spark;

  @Override
  public Integer call() throws Exception {
    CompareSettings settings = options.settings();
    SparkSession session = spark.session("compare", in);
    long start = System.nanoTime();
    OutputDirectory out = OutputDirectory.prepare(
        session.sparkContext().hadoopConfiguration(), in.output, in.overwrite, in.input);
    boolean committed = false;
    ExactStatistics.Ordered exact;
    Comparison.Result result;
    try {
      OrderedInput input = Inputs.readOrdered(session, in.input, in.format, in.readOptions);
      FeatureSelection selection = Inputs.select(session, in.input, in.format, input.data(),
          in.features, in.vectorCol, false);
      LOG.info("compare: exact statistics of {} features of {}", selection.size(), in.input);
      try (ExactStatistics.OrderedRows kept =
          ExactStatistics.computeOrderedKeepingRows(input, selection)) {
        exact = kept.ordered();
        checkForMinibatches(exact, in.input, settings);
        long rows = exact.order().rows();
        LOG.info("compare: {} rows; exact pass done in {} s; minibatches of {}", rows,
            seconds(start), options.batchSizes);
        long phase = System.nanoTime();
        result = MinibatchComparison.compute(kept, selection, settings);
        LOG.info("compare: minibatch pass done in {} s", seconds(phase));
      }
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
        + exact.result().features().size() + " features, " + settings.epochs() + " epoch"
        + (settings.epochs() == 1 ? "" : "s") + ", " + (settings.shuffle()
            ? "shuffled (seed " + settings.seed() + ")" : "input order")
        + "; wrote " + dir + "/compare.json and " + dir + "/compare.parquet");
    System.out.print(table(result, settings));
    return 0;
  }

  /**
   * The checks of an exact pass before its minibatch pass: rows read ({@link StatsJob#checkRows}),
   * no invalid values, no feature whose span overflows ({@link #checkSpans}), every batch size at
   * most the row count ({@link #checkBatchSizes}).
   *
   * @param input the input path, for the messages
   * @throws InputException (data or usage) as those checks
   */
  static void checkForMinibatches(ExactStatistics.Ordered exact, String input,
      CompareSettings settings) {
    StatsJob.checkRows(exact.result(), input);
    StatsJob.checkNoInvalid(exact.result(), "minibatch statistics need complete rows: "
        + "remove or impute them first");
    checkSpans(exact.result());
    checkBatchSizes(settings, exact.order().rows());
  }

  /**
   * @throws InputException (data) naming the first feature whose values span so wide a range that
   *     squared deviations overflow double (beyond about 1.3e154): minibatch variances, computed in
   *     floating point as the frameworks do, would be infinite
   */
  static void checkSpans(DatasetStatistics result) {
    for (FeatureStatistics f : result.features()) {
      double span = f.moments().max() - f.moments().min();
      if (Double.isInfinite(span * span)) {
        throw InputException.data("feature '" + f.name() + "' spans " + f.moments().min() + " to "
            + f.moments().max() + ": its squared deviations overflow double, so minibatch "
            + "variances would be infinite; scale it first");
      }
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

  /** @throws InputException (usage) if a batch size exceeds the row count */
  static void checkBatchSizes(CompareSettings settings, long rows) {
    for (int m : settings.batchSizes()) {
      if (m > rows) {
        throw InputException.usage("batch size " + m + " is larger than the input's " + rows
            + " rows");
      }
    }
  }

  static String seconds(long since) {
    return String.format(Locale.ROOT, "%.1f", (System.nanoTime() - since) / 1e9);
  }
}
