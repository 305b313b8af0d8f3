package io.normstats.jobs;

import io.normstats.InputException;
import io.normstats.exact.FeatureMoments;
import io.normstats.output.OutputDirectory;
import io.normstats.output.StatsOutput;
import io.normstats.output.StatsState;
import io.normstats.result.DatasetStatistics;
import io.normstats.result.FeatureStatistics;
import io.normstats.result.GroupStatistics;
import io.normstats.result.PixelStatistics;
import io.normstats.spark.ExactStatistics;
import io.normstats.spark.FeatureSelection;
import io.normstats.spark.ImageStatistics;
import io.normstats.spark.input.InputFormat;
import io.normstats.spark.input.Inputs;
import io.normstats.sql.GroupedStatistics;
import java.io.IOException;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code normstats stats}: the exact mean, var_pop, var_samp, std_pop, std_samp, min and max of every
 * feature, written to DIR/stats.json and DIR/stats.parquet (see {@link StatsOutput}).
 */
@Command(name = "stats", mixinStandardHelpOptions = true, sortOptions = false,
    description = {
        "Exact dataset statistics of every feature: the mean and variance that prediction-mode "
            + "BatchNorm uses, correctly rounded and identical for any partitioning.",
        "Writes DIR/stats.json, DIR/stats.parquet and the exact state in DIR/state/."},
    exitCodeListHeading = "Exit codes:%n",
    exitCodeList = {"0:done", "1:bad data (NaN/null with --handle-invalid error, vectors of different "
        + "lengths, unreadable file, a corrupt image)", "2:usage error (options, missing input, unknown or "
        + "non-numeric column, existing output)"})
public final class StatsJob implements Callable<Integer> {
  private static final Logger LOG = LoggerFactory.getLogger(StatsJob.class);

  /** What to do with NaN, infinite and null values. */
  public enum Invalid { ERROR, SKIP }

  @Mixin InputOptions in;

  @Mixin ImageOptions image;

  @Option(names = "--partitions", paramLabel = "N",
      description = "Repartition the input into N partitions first.")
  Integer partitions;

  @Option(names = "--num-channels", paramLabel = "C",
      description = "Statistics per channel (BatchNorm2d): the vector column holds C channels of "
          + "H*W values each, channel-major.")
  Integer channels;

  @Option(names = "--group-by", split = ",", paramLabel = "COL",
      description = "Statistics per group of rows with equal values of these columns: stats.json "
          + "gets \"group_by\" and \"groups\" (each with its key, rows and features), "
          + "stats.parquet one row per group and feature.")
  List<String> groupBy;

  @Option(names = "--previous", paramLabel = "DIR",
      description = "Add this input to the state of an earlier stats run in DIR (its state/): the "
          + "result is bit-identical to one run over both inputs. Refused if DIR is over other "
          + "features, channels or group-by columns, or has counted this input already.")
  String previous;

  @Option(names = "--handle-invalid", paramLabel = "MODE",
      converter = InvalidConverter.class,
      description = "error|skip: stop on a NaN, infinity or null (an image that cannot be decoded),"
          + " or leave them out and count them (default: ${DEFAULT-VALUE}).")
  Invalid invalid;

  @Mixin SparkOptions spark;

  @Override
  public Integer call() throws Exception {
    if (partitions != null && partitions < 1) {
      throw InputException.usage("--partitions must be at least 1: " + partitions);
    }
    SparkSession session = spark.session("stats", in);
    long start = System.nanoTime();
    OutputDirectory out = OutputDirectory.prepare(
        session.sparkContext().hadoopConfiguration(), in.output, in.overwrite, in.input);
    boolean committed = false;
    DatasetStatistics result;
    try {
      if (image.images(in, session)) {
        imageStats(session, out, start);
        committed = true;
        return 0;
      }
      Dataset<Row> df = Inputs.read(session, in.input, in.format, in.readOptions);
      if (groupBy != null) {
        groupedStats(session, df, out);
        committed = true;
        return 0;
      }
      FeatureSelection selection =
          Inputs.select(session, in.input, in.format, df, in.features, in.vectorCol, true);
      if (channels != null) {
        selection = selection.withChannels(channels);
      }
      if (partitions != null) {
        df = df.repartition(partitions);
      }
      LOG.info("stats: columns {} of {} in {} partitions", columnsForLog(selection.columns()),
          in.input, Inputs.partitions(df));
      result = ExactStatistics.compute(df, selection);
      checkRows(result, in.input);
      StatsState.State state = StatsState.of(result, selection.channels(),
          StatsState.describe(session, in.input));
      if (previous != null) {
        state = StatsState.merge(StatsState.read(session, previous), "--previous " + previous,
            state, "--input " + in.input);
        result = state.result();
      }
      if (invalid == Invalid.ERROR) {
        checkNoInvalid(result, "pass --handle-invalid skip to leave them out");
      }
      StatsOutput.writeWithState(session, result, state, out);
      out.commit("stats");
      committed = true;
    } finally {
      if (!committed) {
        out.abort(); // also for Spark's checked SparkException
      }
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    LOG.info("stats: done in {} s", String.format(Locale.ROOT, "%.1f", seconds));
    String dir = out.target().toUri().getPath();
    System.out.println("stats: " + result.rows() + " rows, " + result.features().size()
        + " features; wrote " + dir + "/stats.json and " + dir + "/stats.parquet");
    return 0;
  }

  /**
   * Images: the exact statistics of each channel over every pixel of every image, written to
   * stats.json (with "images" and "normalize") and stats.parquet, and committed to {@code out}.
   */
  private void imageStats(SparkSession session, OutputDirectory out, long start)
      throws IOException {
    for (Object[] o : new Object[][] {{"--features", in.features}, {"--vector-col", in.vectorCol},
        {"--num-channels", channels}, {"--group-by", groupBy}, {"--previous", previous},
        {"--normalize", image.normalize}}) {
      if (o[1] != null) {
        throw InputException.usage(o[0] + " does not apply to images (their channels are the "
            + "features; --color chooses them)");
      }
    }
    Dataset<Row> df;
    String column;
    String pathColumn;
    if (image.imageCol != null) {
      df = Inputs.read(session, in.input, in.format, in.readOptions);
      column = image.imageCol;
      pathColumn = null;
    } else {
      df = Inputs.readImages(session, in.input, in.readOptions);
      column = "content";
      pathColumn = "path";
    }
    if (partitions != null) {
      df = df.repartition(partitions);
    }
    LOG.info("stats: images of {}{} in {} partitions", in.input,
        image.imageCol == null ? "" : " (column " + image.imageCol + ")", Inputs.partitions(df));
    PixelStatistics result = ImageStatistics.compute(df, column, pathColumn, in.input,
        new ImageStatistics.Options(image.color, image.pixelValues, invalid == Invalid.SKIP,
            image.transform()));
    for (String skipped : result.skippedImages()) {
      LOG.warn("stats: skipped {}", skipped);
    }
    StatsOutput.writeImages(session, result, out);
    out.commit("stats");
    LOG.info("stats: done in {} s", String.format(Locale.ROOT, "%.1f",
        (System.nanoTime() - start) / 1e9));
    String dir = out.target().toUri().getPath();
    List<String> names = result.statistics().features().stream()
        .map(FeatureStatistics::name).toList();
    System.out.println("stats: " + result.images() + " images"
        + (result.skipped() > 0 ? " (" + result.skipped() + " skipped)" : "") + ", channels "
        + String.join(",", names) + "; wrote " + dir + "/stats.json and " + dir + "/stats.parquet");
    System.out.println("normalize: transforms.Normalize(mean=" + list(result.normalizeMean())
        + ", std=" + list(result.normalizeStd()) + ")");
  }

  /** A Python list of doubles, each the shortest decimal that reads back as the same double. */
  static String list(double[] values) {
    StringBuilder s = new StringBuilder("[");
    for (int i = 0; i < values.length; i++) {
      s.append(i == 0 ? "" : ", ").append(values[i]);
    }
    return s.append(']').toString();
  }

  /** The --group-by run: statistics per group, written and committed to {@code out}. */
  private void groupedStats(SparkSession session, Dataset<Row> df, OutputDirectory out)
      throws IOException {
    if (groupBy.isEmpty() || groupBy.stream().distinct().count() != groupBy.size()) {
      throw InputException.usage("--group-by lists no column, or one twice: " + groupBy);
    }
    List<String> features = in.features;
    Dataset<Row> candidates = df;
    if (features == null && in.vectorCol == null) {
      // every numeric column but the group-by ones
      candidates = df.drop(groupBy.toArray(new String[0]));
    }
    FeatureSelection selection =
        Inputs.select(session, in.input, in.format, candidates, features, in.vectorCol, false);
    if (channels != null) {
      selection = selection.withChannels(channels);
    }
    if (partitions != null) {
      df = df.repartition(partitions);
    }
    LOG.info("stats: columns {} of {} per group of {}", columnsForLog(selection.columns()),
        in.input, groupBy);
    List<GroupStatistics> groups = GroupedStatistics.compute(df, selection, groupBy);
    if (groups.isEmpty()) {
      throw InputException.data("input " + in.input + " has no rows");
    }
    StructType keys = new StructType();
    for (String g : groupBy) {
      keys = keys.add(FeatureSelection.field(df.schema(), g));
    }
    StatsState.State state = StatsState.of(groups, keys, selection.channels(),
        StatsState.describe(session, in.input));
    if (previous != null) {
      state = StatsState.merge(StatsState.read(session, previous), "--previous " + previous,
          state, "--input " + in.input);
      groups = state.groups();
    }
    if (invalid == Invalid.ERROR) {
      for (GroupStatistics g : groups) {
        checkNoInvalid(new DatasetStatistics(g.rows(), g.features()),
            "pass --handle-invalid skip to leave them out (group " + g.key() + ")");
      }
    }
    StatsOutput.writeGroupedWithState(session, keys, groups, state, out);
    out.commit("stats");
    long rows = groups.stream().mapToLong(GroupStatistics::rows).sum();
    String dir = out.target().toUri().getPath();
    System.out.println("stats: " + rows + " rows, " + groups.size() + " groups of "
        + selection.size() + " features; wrote " + dir + "/stats.json and " + dir
        + "/stats.parquet");
  }

  /** @throws InputException (data) if {@code result} is over no rows */
  static void checkRows(DatasetStatistics result, String input) {
    if (result.rows() == 0) {
      throw InputException.data("input " + input + " has no rows");
    }
  }

  /**
   * @throws InputException (data) naming the first feature with NaN, infinite or null values, and
   *     ending with {@code hint}
   */
  static void checkNoInvalid(DatasetStatistics result, String hint) {
    List<FeatureStatistics> invalid = result.features().stream()
        .filter(f -> f.moments().invalidCount() > 0).toList();
    if (invalid.isEmpty()) {
      return;
    }
    FeatureStatistics first = invalid.get(0);
    FeatureMoments m = first.moments();
    throw InputException.data("feature '" + first.name() + "' has " + m.nanCount()
        + " NaN or infinite and " + m.nullCount() + " null values"
        + (invalid.size() > 1 ? " (" + (invalid.size() - 1) + " more features have some)" : "")
        + "; " + hint);
  }

  static final class InvalidConverter implements picocli.CommandLine.ITypeConverter<Invalid> {
    @Override
    public Invalid convert(String value) {
      return Invalid.valueOf(value.toUpperCase(Locale.ROOT));
    }
  }

  /** Columns shown in a log line: all of up to 10, else the first 5, the last 2 and the count. */
  static String columnsForLog(List<String> columns) {
    int n = columns.size();
    if (n <= 10) {
      return columns.toString();
    }
    return "[" + String.join(", ", columns.subList(0, 5)) + ", ..., "
        + String.join(", ", columns.subList(n - 2, n)) + "] (" + n + " columns)";
  }
}
