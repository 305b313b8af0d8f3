package io.normstats.spark;

import io.normstats.InputException;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.util.Arrays;
import java.util.Comparator;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;

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
    return open(spark, path, resolve(spark, path, format));
  }

  /**
   * Reads {@code path} in {@code format} with each row's origin, from which {@link InputOrder}
   * derives the input order: the order of the files (by name) and of the rows in each file,
   * whatever the splits.
   *
   * @throws InputException as {@link #read}
   */
  public static OrderedInput readOrdered(SparkSession spark, String path, InputFormat format) {
    InputFormat resolved = resolve(spark, path, format);
    if (resolved == InputFormat.IDX) {
      Dataset<Row> withOrigin = IdxSource.read(spark, path,
          spark.sparkContext().defaultParallelism(), true);
      return new OrderedInput(withOrigin.select(IdxSource.COLUMN), withOrigin);
    }
    // Spark's hidden file metadata: the file and the byte offset of the split each row came from
    Dataset<Row> data = open(spark, path, resolved);
    Dataset<Row> withOrigin = data.select(functions.col("*"),
        functions.col("_metadata.file_path").as(InputOrder.FILE_COLUMN),
        functions.col("_metadata.file_block_start").as(InputOrder.START_COLUMN));
    return new OrderedInput(data, withOrigin);
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
    FileStatus status = checkExists(spark, path);
    return format == InputFormat.AUTO ? detect(spark, status, path) : format;
  }

  private static Dataset<Row> open(SparkSession spark, String path, InputFormat resolved) {
    return switch (resolved) {
      case PARQUET -> spark.read().parquet(path);
      case CSV -> spark.read().option("header", "true").option("inferSchema", "true")
          .option("mode", "FAILFAST").csv(path);
      case JSON -> spark.read().option("mode", "FAILFAST").json(path);
      case IDX -> IdxSource.read(spark, path, spark.sparkContext().defaultParallelism());
      case AUTO -> throw new IllegalStateException();
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
          + " from its name: pass --format parquet|csv|json|idx");
    }
    return byName;
  }

  /** The file status of {@code path}. @throws InputException (usage) if it does not exist */
  static FileStatus checkExists(SparkSession spark, String path) {
    try {
      Path p = new Path(path);
      FileSystem fs = p.getFileSystem(spark.sparkContext().hadoopConfiguration());
      return fs.getFileStatus(p);
    } catch (FileNotFoundException e) {
      throw InputException.usage("input " + path + " does not exist");
    } catch (IOException | IllegalArgumentException e) {
      throw InputException.usage("cannot open input " + path + ": " + e.getMessage());
    }
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
