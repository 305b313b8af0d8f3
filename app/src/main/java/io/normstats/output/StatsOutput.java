package io.normstats.output;

import com.fasterxml.jackson.core.JsonGenerator;
import io.normstats.exact.FeatureMoments;
import io.normstats.result.DatasetStatistics;
import io.normstats.result.FeatureStatistics;
import io.normstats.result.GroupStatistics;
import io.normstats.result.ImageSize;
import io.normstats.result.PixelStatistics;
import io.normstats.sql.ExactStats;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructType;

/**
 * Writes the stats job's result as {@code stats.json} and {@code stats.parquet}.
 *
 * <p>stats.json: {@code {"rows": R, "features": [{"name", "index", "count", "mean", "var_pop",
 * "var_samp", "std_pop", "std_samp", "min", "max", "null_count", "nan_count"}, ...]}}. Doubles are
 * written as the shortest decimal that parses back to the same bits (as Java 19's
 * {@code Double.toString}); an undefined statistic is {@code null}; a variance beyond the double
 * range (values near +-1e308 only) is the string {@code "Infinity"}. stats.parquet holds the same
 * feature table, one row per feature, undefined values as nulls.
 */
public final class StatsOutput {
  /** The columns of the feature table, in order. */
  public static final StructType SCHEMA = ExactStats.SCHEMA;

  private StatsOutput() {}

  /** Writes stats.json and stats.parquet into {@code out}'s staging directory, at the same time. */
  public static void write(SparkSession spark, DatasetStatistics result, OutputDirectory out)
      throws IOException {
    whileSparkWrites(() -> writeParquet(spark, result, out.file("stats.parquet")),
        () -> writeJson(result, out.fileSystem().create(out.file("stats.json"), false)));
  }

  /**
   * Writes a stats run's outputs: stats.json and stats.parquet ({@link #write}) and its exact state
   * in state/ ({@link StatsState#write}). The state's Parquet file is written by a Spark job on a
   * thread of its own while stats.parquet's job runs, so the two one-task jobs share the cores
   * instead of queueing (about 0.15 s of a warm one-second run).
   *
   * @throws IOException from either write; the staging directory then holds partial files, which
   *     the caller aborts
   */
  public static void writeWithState(SparkSession spark, DatasetStatistics result,
      StatsState.State state, OutputDirectory out) throws IOException {
    whileSparkWrites(() -> StatsState.write(spark, state, out), () -> write(spark, result, out));
  }

  /** {@link #writeGrouped} and the state, as {@link #writeWithState}. */
  public static void writeGroupedWithState(SparkSession spark, StructType keySchema,
      List<GroupStatistics> groups, StatsState.State state, OutputDirectory out)
      throws IOException {
    whileSparkWrites(() -> StatsState.write(spark, state, out),
        () -> writeGrouped(spark, keySchema, groups, out));
  }

  /** A write of output files. */
  @FunctionalInterface
  interface Write {
    void run() throws IOException;
  }

  /**
   * Runs {@code sparkWrite} (a Spark job writing an output file) on a thread of its own while this
   * thread does {@code driverWrite} (JSON written by the driver), and returns when both are done:
   * the job's task runs on an executor slot while the driver writes, instead of after it (0.2 to
   * 0.3 s of a compare run on the 60,000 images). The job's thread inherits this thread's Spark
   * local properties and context class loader.
   *
   * @throws IOException from {@code driverWrite}, or from {@code sparkWrite} once both are done
   * @throws RuntimeException the job's failure, once both are done (the driver's first if both
   *     fail)
   */
  static void whileSparkWrites(Write sparkWrite, Write driverWrite) throws IOException {
    AtomicReference<Throwable> failure = new AtomicReference<>();
    Thread job = new Thread(() -> {
      try {
        sparkWrite.run();
      } catch (Throwable t) {
        failure.set(t);
      }
    }, "normstats output writer");
    job.setDaemon(true);
    job.start();
    try {
      driverWrite.run();
    } finally {
      joinUninterruptibly(job);
    }
    Throwable t = failure.get();
    if (t instanceof RuntimeException e) {
      throw e;
    } else if (t instanceof IOException e) {
      throw e;
    } else if (t instanceof Error e) {
      throw e;
    } else if (t != null) {
      throw new IllegalStateException(t);
    }
  }

  private static void joinUninterruptibly(Thread thread) {
    boolean interrupted = false;
    while (true) {
      try {
        thread.join();
        break;
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  static void writeJson(DatasetStatistics result, OutputStream stream) throws IOException {
    try (JsonGenerator g = JsonFiles.generator(stream)) {
      writeObject(g, result);
      g.writeRaw('\n');
    }
  }

  /** Writes the stats.json object for {@code result} to {@code g}. */
  static void writeObject(JsonGenerator g, DatasetStatistics result) throws IOException {
    g.writeStartObject();
    g.writeNumberField("rows", result.rows());
    writeFeatures(g, result.features());
    g.writeEndObject();
  }

  /** Writes the "features" array field. */
  private static void writeFeatures(JsonGenerator g, List<FeatureStatistics> features)
      throws IOException {
    g.writeArrayFieldStart("features");
    for (FeatureStatistics f : features) {
      FeatureMoments m = f.moments();
      g.writeStartObject();
      g.writeStringField("name", f.name());
      g.writeNumberField("index", f.index());
      g.writeNumberField("count", m.count());
      number(g, "mean", m.mean());
      number(g, "var_pop", m.varPop());
      number(g, "var_samp", m.varSamp());
      number(g, "std_pop", m.stdPop());
      number(g, "std_samp", m.stdSamp());
      number(g, "min", m.min());
      number(g, "max", m.max());
      g.writeNumberField("null_count", m.nullCount());
      g.writeNumberField("nan_count", m.nanCount());
      g.writeEndObject();
    }
    g.writeEndArray();
  }

  /**
   * Writes the statistics per group (the stats job's {@code --group-by}): stats.json as
   * {@code {"rows": R, "group_by": [COL, ...], "groups": [{"key": {"COL": value, ...}, "rows": r,
   * "features": [...as without groups...]}, ...]}} in the order of the keys; stats.parquet with one
   * row per group and feature, the group-by columns (their input types) before the feature table's.
   */
  public static void writeGrouped(SparkSession spark, StructType keySchema,
      List<GroupStatistics> groups, OutputDirectory out) throws IOException {
    long rows = groups.stream().mapToLong(GroupStatistics::rows).sum();
    OutputStream stream = out.fileSystem().create(out.file("stats.json"), false);
    try (JsonGenerator g = JsonFiles.generator(stream)) {
      g.writeStartObject();
      g.writeNumberField("rows", rows);
      g.writeArrayFieldStart("group_by");
      for (String name : keySchema.fieldNames()) {
        g.writeString(name);
      }
      g.writeEndArray();
      g.writeArrayFieldStart("groups");
      for (GroupStatistics group : groups) {
        g.writeStartObject();
        g.writeObjectFieldStart("key");
        for (int i = 0; i < keySchema.size(); i++) {
          Object v = group.key().get(i);
          String name = keySchema.fields()[i].name();
          if (v == null) {
            g.writeNullField(name);
          } else if (v instanceof Number || v instanceof Boolean || v instanceof String) {
            g.writeObjectField(name, v);
          } else {
            g.writeStringField(name, v.toString()); // dates, timestamps, binary: as text
          }
        }
        g.writeEndObject();
        g.writeNumberField("rows", group.rows());
        writeFeatures(g, group.features());
        g.writeEndObject();
      }
      g.writeEndArray();
      g.writeEndObject();
      g.writeRaw('\n');
    }
    StructType schema = new StructType(keySchema.fields());
    for (org.apache.spark.sql.types.StructField f : SCHEMA.fields()) {
      schema = schema.add(f);
    }
    List<Row> table = new ArrayList<>();
    for (GroupStatistics group : groups) {
      List<Row> features = ExactStats.rows(new DatasetStatistics(group.rows(),
          group.features()));
      for (Row f : features) {
        List<Object> values = new ArrayList<>(group.key());
        for (int i = 0; i < f.size(); i++) {
          values.add(f.get(i));
        }
        table.add(RowFactory.create(values.toArray()));
      }
    }
    writeParquet(spark, table, schema, out.file("stats.parquet"));
  }

  /**
   * Writes the statistics of images (io.normstats.spark.ImageStatistics): stats.parquet as for any input (one
   * row per channel), and stats.json as {@code {"rows": images, "features": [...one per channel,
   * named R, G, B (or L; A)...], "images": {"count", "skipped", "skipped_images": [...], "sizes":
   * {"min": {"height", "width"}, "max": {...}}, "bit_depths": [8 | 16]}, "normalize": {"mean":
   * [...], "std": [...]}}}, "normalize" holding each channel's mean and population standard
   * deviation, the two lists of torchvision's {@code transforms.Normalize}.
   */
  public static void writeImages(SparkSession spark, PixelStatistics result,
      OutputDirectory out) throws IOException {
    whileSparkWrites(() -> writeParquet(spark, result.statistics(), out.file("stats.parquet")),
        () -> {
          try (JsonGenerator g = JsonFiles.generator(
              out.fileSystem().create(out.file("stats.json"), false))) {
            writeImagesObject(g, result);
            g.writeRaw('\n');
          }
        });
  }

  static void writeImagesObject(JsonGenerator g, PixelStatistics result)
      throws IOException {
    g.writeStartObject();
    g.writeNumberField("rows", result.images());
    writeFeatures(g, result.statistics().features());
    g.writeObjectFieldStart("images");
    g.writeNumberField("count", result.images());
    g.writeNumberField("skipped", result.skipped());
    g.writeArrayFieldStart("skipped_images");
    for (String s : result.skippedImages()) {
      g.writeString(s);
    }
    g.writeEndArray();
    g.writeObjectFieldStart("sizes");
    for (String which : List.of("min", "max")) {
      ImageSize s = which.equals("min") ? result.smallest() : result.largest();
      g.writeObjectFieldStart(which);
      g.writeNumberField("height", s.height());
      g.writeNumberField("width", s.width());
      g.writeEndObject();
    }
    g.writeEndObject();
    g.writeArrayFieldStart("bit_depths");
    for (int d : result.bitDepths()) {
      g.writeNumber(d);
    }
    g.writeEndArray();
    g.writeEndObject();
    g.writeObjectFieldStart("normalize");
    g.writeArrayFieldStart("mean");
    for (double v : result.normalizeMean()) {
      g.writeNumber(v);
    }
    g.writeEndArray();
    g.writeArrayFieldStart("std");
    for (double v : result.normalizeStd()) {
      g.writeNumber(v);
    }
    g.writeEndArray();
    g.writeEndObject();
    g.writeEndObject();
  }

  /** Writes {@code v} as the shortest decimal that reads back as v, NaN (undefined) as null. */
  static void number(JsonGenerator g, String field, double v) throws IOException {
    if (Double.isNaN(v)) {
      g.writeNullField(field);
    } else {
      g.writeNumberField(field, v); // shortest round-trip decimal; infinities as "Infinity" strings
    }
  }

  private static void writeParquet(SparkSession spark, DatasetStatistics result, Path path) {
    writeParquet(spark, ExactStats.rows(result), SCHEMA, path);
  }

  /**
   * Writes a driver-side table as one Parquet file, in one task and one Spark job: the rows travel
   * as a broadcast variable, which the task reads back. (Rows inside the task would make a task of
   * megabytes, which Spark warns about; slicing them over several tasks and gathering them with a
   * shuffle cost two jobs and, for the 18,816 rows of a compare.parquet, 0.75 s against 0.25 s.)
   */
  static void writeParquet(SparkSession spark, List<Row> rows, StructType schema, Path path) {
    JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    Broadcast<ArrayList<Row>> table = sc.broadcast(new ArrayList<>(rows));
    try {
      JavaRDD<Row> one = sc.parallelize(List.of(0), 1).flatMap(i -> table.value().iterator());
      spark.createDataFrame(one, schema).write().parquet(path.toString());
    } finally {
      table.destroy();
    }
  }

  /** {@code v}, or null for NaN (undefined). */
  static Double orNull(double v) {
    return Double.isNaN(v) ? null : v;
  }
}
