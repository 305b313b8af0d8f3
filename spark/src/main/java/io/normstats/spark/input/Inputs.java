package io.normstats.spark.input;

import com.univocity.parsers.csv.CsvParser;
import com.univocity.parsers.csv.CsvParserSettings;
import io.normstats.InputException;
import io.normstats.spark.FeatureSelection;
import io.normstats.spark.ImageStatistics;
import io.normstats.spark.InputOrder;
import io.normstats.spark.OrderedInput;
import io.normstats.spark.internal.InternalRows;
import io.normstats.spark.internal.ReaderOptions;
import java.io.BufferedReader;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.io.compress.CompressionCodec;
import org.apache.hadoop.io.compress.CompressionCodecFactory;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;

/**
 * Opens a job's input as a DataFrame with Spark's own readers (Parquet, CSV with a header and
 * inferred types, JSON lines) or {@link IdxSource} for IDX files. Paths go through Hadoop's
 * FileSystem, so local paths, {@code file:}, {@code hdfs:} and {@code s3a:} URIs all work.
 */
public final class Inputs {
  private Inputs() {}

  /**
   * Reads {@code path} in {@code format}.
   *
   * @param path a file or a directory of files (a Spark output directory, for instance)
   * @param format the format, or {@link InputFormat#AUTO} to choose by the file name (for a directory,
   *     by the names of its data files)
   * @throws InputException (usage) if the path does not exist, is empty, or its format cannot be
   *     told from its name
   */
  public static Dataset<Row> read(SparkSession spark, String path, InputFormat format) {
    return read(spark, path, format, Map.of());
  }

  /**
   * Reads {@code path} in {@code format} with Spark reader options ({@code --read-option}), set
   * after normstats' own (for CSV: header, inferSchema, FAILFAST), so that they can override them.
   *
   * @param options Spark data source options of the format (CSV, JSON, Parquet) or of every file
   *     source (pathGlobFilter, recursiveFileLookup, ignoreCorruptFiles, ...); keys are
   *     case-insensitive, as Spark's
   * @throws InputException (usage) as {@link #read(SparkSession, String, InputFormat)}, for an
   *     option the format does not have, and for a value Spark's reader refuses
   */
  public static Dataset<Row> read(SparkSession spark, String path, InputFormat format,
      Map<String, String> options) {
    InputFormat resolved = resolve(spark, path, format);
    if (resolved == InputFormat.IMAGE) {
      throw InputException.usage("input " + path + " is image files, which the stats job reads "
          + "(and Python's normstats.image_stats); this job reads feature tables and IDX files");
    }
    return open(spark, path, resolved, options);
  }

  /**
   * The image files at {@code path} ({@link ImageStatistics#readFiles}: a file, a directory read
   * recursively, a glob, or several of them separated by commas), as rows of {@code path} and
   * {@code content}.
   *
   * @param options options of Spark's file sources ({@code pathGlobFilter}, {@code
   *     modifiedAfter}, {@code ignoreCorruptFiles}, ...)
   * @throws InputException (usage) if a path does not exist, an option is not a file source's, or
   *     there are no image files
   */
  public static Dataset<Row> readImages(SparkSession spark, String path,
      Map<String, String> options) {
    checkPaths(spark.sparkContext().hadoopConfiguration(), path);
    checkOptions(InputFormat.IMAGE, options);
    return ImageStatistics.readFiles(spark, path, options);
  }

  /**
   * Reads {@code path} in {@code format} with each row's origin, from which {@link InputOrder}
   * derives the input order: the order of the files (by name) and of the rows in each file,
   * whatever the splits.
   *
   * @throws InputException as {@link #read}
   */
  public static OrderedInput readOrdered(SparkSession spark, String path, InputFormat format) {
    return readOrdered(spark, path, format, Map.of());
  }

  /**
   * As {@link #readOrdered(SparkSession, String, InputFormat)}, with Spark reader options (see
   * {@link #read(SparkSession, String, InputFormat, Map)}).
   *
   * @throws InputException as {@link #read(SparkSession, String, InputFormat, Map)}
   */
  public static OrderedInput readOrdered(SparkSession spark, String path, InputFormat format,
      Map<String, String> options) {
    InputFormat resolved = resolve(spark, path, format);
    if (resolved == InputFormat.IDX) {
      checkOptions(resolved, options);
      Dataset<Row> withOrigin = IdxSource.read(spark, path,
          spark.sparkContext().defaultParallelism(), true);
      return new OrderedInput(withOrigin.select(IdxSource.COLUMN), withOrigin);
    }
    // Spark's hidden file metadata: the file and the byte offset of the split each row came from
    Dataset<Row> data = open(spark, path, resolved, options);
    Dataset<Row> withOrigin = data.select(functions.col("*"),
        functions.col("_metadata.file_path").as(InputOrder.FILE_COLUMN),
        functions.col("_metadata.file_block_start").as(InputOrder.START_COLUMN));
    return new OrderedInput(data, withOrigin);
  }

  /**
   * The number of partitions (tasks) a pass over {@code df} reads, without building the plan over
   * all its columns: Spark splits files and sources by bytes and rows, not by the columns read, so
   * a plan that reads none has the same partitions. ({@code df.rdd()} would generate and compile a
   * row converter over every column: seconds for a table of thousands of columns.)
   */
  public static int partitions(Dataset<Row> df) {
    return InternalRows.partitions(df.select(functions.lit(true)));
  }

  /**
   * The format {@code auto} chooses for {@code path}.
   *
   * @throws InputException (usage) as {@link #read}
   */
  public static InputFormat resolveFormat(SparkSession spark, String path) {
    return resolve(spark, path, InputFormat.AUTO);
  }

  private static InputFormat resolve(SparkSession spark, String path, InputFormat format) {
    if (format == InputFormat.AUTO && isGlob(path)) {
      InputFormat byName = InputFormat.fromFileName(new Path(path).getName());
      if (byName == null) {
        throw InputException.usage("cannot tell the format of " + path
            + " from its name: pass --format parquet|csv|json|idx|image");
      }
      return byName;
    }
    FileStatus status = checkExists(spark, path);
    return format == InputFormat.AUTO ? detect(spark, status, path) : format;
  }

  /**
   * @throws InputException (usage) if an option is not one of the format's (Spark's own registry of
   *     each source's options) or of every file source's
   */
  private static void checkOptions(InputFormat format, Map<String, String> options) {
    for (String key : options.keySet()) {
      // IDX files take no reader options
      boolean valid = format != InputFormat.IDX
          && ReaderOptions.isValid(format.name().toLowerCase(Locale.ROOT), key);
      if (!valid) {
        throw InputException.usage("--read-option " + key + ": not an option of Spark's "
            + format.name().toLowerCase(Locale.ROOT) + " reader"
            + (format == InputFormat.IDX ? " (IDX files take no reader options)" : ""));
      }
    }
  }

  /** The value of option {@code key} in {@code options} (keys case-insensitive), or null. */
  private static String option(Map<String, String> options, String... keys) {
    for (Map.Entry<String, String> e : options.entrySet()) {
      for (String key : keys) {
        if (e.getKey().equalsIgnoreCase(key)) {
          return e.getValue();
        }
      }
    }
    return null;
  }

  private static Dataset<Row> open(SparkSession spark, String path, InputFormat resolved,
      Map<String, String> options) {
    checkOptions(resolved, options);
    try {
      return openChecked(spark, path, resolved, options);
    } catch (IllegalArgumentException | UnsupportedOperationException e) {
      if (options.isEmpty()) {
        throw e;
      }
      // a value Spark's reader refuses (an unknown encoding, mode or compression, a bad sep)
      String message = e.getMessage() == null ? e.toString() : e.getMessage();
      throw InputException.usage("cannot read " + path + " with --read-option " + options + ": "
          + message.lines().findFirst().orElse(message));
    }
  }

  private static Dataset<Row> openChecked(SparkSession spark, String path, InputFormat resolved,
      Map<String, String> options) {
    if (resolved == InputFormat.CSV || resolved == InputFormat.JSON) {
      FileStatus[] files = dataFiles(spark, path);
      if (Arrays.stream(files).allMatch(f -> f.getLen() == 0)) {
        throw InputException.data("input " + path + " is empty (0 bytes)");
      }
      if (resolved == InputFormat.CSV && !"false".equalsIgnoreCase(option(options, "header"))) {
        checkCsvHeader(spark, Arrays.stream(files).filter(f -> f.getLen() > 0).findFirst().get(),
            options);
      }
    }
    return switch (resolved) {
      case PARQUET -> spark.read().options(options).parquet(path);
      // Spaces around values ("1, 2, 3") are allowed; a row with more or fewer fields than the
      // header fails the read (FAILFAST) rather than being padded with nulls or cut.
      case CSV -> spark.read().option("header", "true").option("inferSchema", "true")
          .option("ignoreLeadingWhiteSpace", "true").option("ignoreTrailingWhiteSpace", "true")
          .option("mode", "FAILFAST").options(options).csv(path);
      case JSON -> spark.read().option("mode", "FAILFAST").options(options).json(path);
      case IDX -> IdxSource.read(spark, path, spark.sparkContext().defaultParallelism());
      case IMAGE, AUTO -> throw new IllegalStateException();
    };
  }

  /** The format {@code path}'s name (or its data files' names) implies. */
  private static InputFormat detect(SparkSession spark, FileStatus status, String path) {
    String name = status.getPath().getName();
    InputFormat byName = InputFormat.fromFileName(name);
    if (byName == null && status.isDirectory()) {
      FileStatus[] children = listDataFiles(spark, status.getPath());
      if (children.length == 0) {
        throw InputException.usage("input directory " + path + " has no data files");
      }
      byName = InputFormat.fromFileName(children[0].getPath().getName());
      if (byName == null && children[0].getPath().getName().startsWith("part-")) {
        byName = InputFormat.PARQUET; // Spark's default output format has no extension at times
      }
    }
    if (byName == null) {
      throw InputException.usage("cannot tell the format of " + path
          + " from its name: pass --format parquet|csv|json|idx|image");
    }
    return byName;
  }

  /**
   * The features of {@code df}, read from {@code path}, as {@link FeatureSelection#resolve} (or,
   * with {@code deferLength}, {@link FeatureSelection#resolveDeferred}) chooses them, with the checks
   * that text inputs need because Spark infers their column types from the values: a CSV or JSON
   * column that holds numbers and some values that are not numbers is inferred as a string column,
   * and would otherwise silently not be a feature (or be refused as "not numeric"); a file with a
   * header and no rows has only string columns.
   *
   * @throws InputException (data) if a text input has no rows, or a string column holds numbers
   *     and values that are not numbers (naming the column, one such value and how many there are);
   *     (usage) as {@link FeatureSelection#resolve}
   */
  public static FeatureSelection select(SparkSession spark, String path, InputFormat format,
      Dataset<Row> df, List<String> features, String vectorColumn, boolean deferLength) {
    InputFormat resolved = resolve(spark, path, format);
    boolean text = resolved == InputFormat.CSV || resolved == InputFormat.JSON;
    List<String> strings = Arrays.stream(df.schema().fields())
        .filter(f -> f.dataType() == DataTypes.StringType).map(StructField::name).toList();
    FeatureSelection selection;
    try {
      selection = deferLength
          ? FeatureSelection.resolveDeferred(df, features, vectorColumn)
          : FeatureSelection.resolve(df, features, vectorColumn);
    } catch (InputException e) {
      if (text && e.exitCode() == InputException.USAGE && !strings.isEmpty()) {
        if (df.isEmpty()) {
          throw InputException.data("input " + path + " has no rows");
        }
        List<String> asked = features == null ? strings
            : features.stream().filter(strings::contains).toList();
        checkNumbersInStrings(df, path, asked);
      }
      throw e;
    }
    if (text && features == null && vectorColumn == null && !strings.isEmpty()) {
      checkNumbersInStrings(df, path, strings);
    }
    return selection;
  }

  /**
   * @throws InputException (data) if one of the string {@code columns} holds values that parse as
   *     numbers and values that do not (and are not null): a numeric column with a typo
   */
  private static void checkNumbersInStrings(Dataset<Row> df, String path, List<String> columns) {
    if (columns.isEmpty()) {
      return;
    }
    List<Column> aggs = new ArrayList<>();
    for (String name : columns) {
      Column c = FeatureSelection.quoted(name);
      Column number = c.try_cast(DataTypes.DoubleType).isNotNull();
      Column other = c.isNotNull().and(functions.not(number));
      aggs.add(functions.count(functions.when(number, 1)));
      aggs.add(functions.count(functions.when(other, 1)));
      aggs.add(functions.min(functions.when(other, c)));
    }
    Row counts = df.agg(aggs.get(0), aggs.subList(1, aggs.size()).toArray(new Column[0])).first();
    for (int i = 0; i < columns.size(); i++) {
      long numbers = counts.getLong(3 * i);
      long others = counts.getLong(3 * i + 1);
      if (numbers > 0 && others > 0) {
        String example = counts.getString(3 * i + 2);
        throw InputException.data("column '" + columns.get(i) + "' of " + path + " holds " + numbers
            + " numbers and " + others + (others == 1 ? " value that is" : " values that are")
            + " not a number, e.g. '" + abbreviate(example) + "': fix the values, or leave the "
            + "column out with --features");
      }
    }
  }

  private static String abbreviate(String value) {
    String oneLine = value.replaceAll("\\s+", " ");
    return oneLine.length() > 40 ? oneLine.substring(0, 40) + "..." : oneLine;
  }

  /**
   * @throws InputException (data) if the header of CSV file {@code file} names a column twice,
   *     which Spark would silently rename (to {@code a0}, {@code a2}, ...)
   */
  private static void checkCsvHeader(SparkSession spark, FileStatus file,
      Map<String, String> options) {
    Path p = file.getPath();
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    String encoding = option(options, "encoding", "charset");
    java.nio.charset.Charset charset;
    try {
      charset = encoding == null ? StandardCharsets.UTF_8 : java.nio.charset.Charset.forName(encoding);
    } catch (IllegalArgumentException e) {
      throw InputException.usage("--read-option encoding=" + encoding + ": not a character "
          + "encoding Java knows");
    }
    String line;
    try {
      CompressionCodec codec = new CompressionCodecFactory(conf).getCodec(p);
      InputStream raw = p.getFileSystem(conf).open(p);
      try (BufferedReader reader = new BufferedReader(new InputStreamReader(
          codec == null ? raw : codec.createInputStream(raw), charset))) {
        line = reader.readLine();
      }
    } catch (IOException e) {
      throw InputException.data("cannot read " + p + ": " + e.getMessage(), e);
    }
    if (line == null) {
      return;
    }
    CsvParserSettings settings = new CsvParserSettings();
    String separator = option(options, "sep", "delimiter");
    if (separator != null && !separator.isEmpty()) {
      settings.getFormat().setDelimiter(separator.equals("\\t") ? "\t" : separator);
    }
    String[] names = new CsvParser(settings).parseLine(line);
    boolean caseSensitive = Boolean.parseBoolean(spark.conf().get("spark.sql.caseSensitive", "false"));
    Map<String, Integer> seen = new HashMap<>();
    for (int i = 0; names != null && i < names.length; i++) {
      if (names[i] == null) {
        continue;
      }
      String key = caseSensitive ? names[i] : names[i].toLowerCase(Locale.ROOT);
      Integer first = seen.putIfAbsent(key, i);
      if (first != null) {
        throw InputException.data("the header of " + p.toUri().getPath() + " names column '"
            + names[i] + "' twice (fields " + (first + 1) + " and " + (i + 1) + ")"
            + (caseSensitive ? "" : ", ignoring case"));
      }
    }
  }

  /** The data files of {@code path}: itself, or a directory's files that are not hidden. */
  private static FileStatus[] dataFiles(SparkSession spark, String path) {
    FileStatus status = checkExists(spark, path);
    return status.isDirectory() ? listDataFiles(spark, status.getPath()) : new FileStatus[] {status};
  }

  /** The file status of {@code path}. @throws InputException (usage) if it does not exist */
  static FileStatus checkExists(SparkSession spark, String path) {
    return checkExists(spark.sparkContext().hadoopConfiguration(), path);
  }

  /**
   * The file status of {@code path} on the file system {@code conf} gives it (the check every read
   * makes first; jobs also make it before Spark starts, {@code SparkOptions.session}).
   *
   * @throws InputException (usage) if it does not exist or cannot be opened
   */
  public static FileStatus checkExists(Configuration conf, String path) {
    try {
      Path p = new Path(path);
      FileSystem fs = p.getFileSystem(conf);
      return fs.getFileStatus(p);
    } catch (FileNotFoundException e) {
      throw InputException.usage("input " + path + " does not exist");
    } catch (IOException | IllegalArgumentException e) {
      throw InputException.usage("cannot open input " + path + ": " + e.getMessage());
    }
  }

  /**
   * Checks every path of a comma-separated list: a glob ({@code *}, {@code ?}, {@code [...]},
   * {@code {a,b}}) must match a file, any other path must exist.
   *
   * @throws InputException (usage) naming the first path that does not exist or matches nothing
   */
  public static void checkPaths(Configuration conf, String paths) {
    if (!paths.contains(",") && !isGlob(paths)) {
      checkExists(conf, paths);
      return;
    }
    for (String path : paths.split(",")) {
      if (!isGlob(path)) {
        checkExists(conf, path);
        continue;
      }
      try {
        Path p = new Path(path);
        FileStatus[] matched = p.getFileSystem(conf).globStatus(p);
        if (matched == null || matched.length == 0) {
          throw InputException.usage("input " + path + " matches no files");
        }
      } catch (IOException | IllegalArgumentException e) {
        throw InputException.usage("cannot open input " + path + ": " + e.getMessage());
      }
    }
  }

  private static boolean isGlob(String path) {
    return path.contains("*") || path.contains("?") || path.contains("[") || path.contains("{");
  }

  /** The files in a directory that are not hidden (Spark's _SUCCESS and .crc files), sorted. */
  static FileStatus[] listDataFiles(SparkSession spark, Path dir) {
    try {
      FileSystem fs = dir.getFileSystem(spark.sparkContext().hadoopConfiguration());
      return Arrays.stream(fs.listStatus(dir))
          .filter(s -> s.isFile())
          .filter(s -> !s.getPath().getName().startsWith("_") && !s.getPath().getName().startsWith("."))
          .sorted(Comparator.comparing(s -> s.getPath().getName()))
          .toArray(FileStatus[]::new);
    } catch (IOException e) {
      throw InputException.usage("cannot list input directory " + dir + ": " + e.getMessage());
    }
  }
}
