package io.normstats.output;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.normstats.exact.FeatureMoments;
import io.normstats.spark.ExactStatistics;
import java.io.IOException;
import java.io.OutputStream;
import java.util.List;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructType;

/**
 * Writes the stats job's result as {@code stats.json} and {@code stats.parquet}.
 *
 * <p>stats.json: {@code {"rows": R, "features": [{"name", "index", "count", "mean", "var_pop",
 * "var_samp", "std_pop", "std_samp", "min", "max", "null_count", "nan_count"}, ...]}}. Doubles are
 * written as Java's {@link Double#toString(double)} does (Jackson's default), which parses back to
 * the same bits; an undefined statistic is {@code null}; a variance beyond the double range (values
 * near +-1e308 only) is the string {@code "Infinity"}. stats.parquet holds the same feature table,
 * one row per feature, undefined values as nulls.
 */
public final class StatsOutput {
  /** The columns of the feature table, in order. */
  public static final StructType SCHEMA = ExactStatistics.TABLE_SCHEMA;

  private StatsOutput() {}

  /** Writes stats.json and stats.parquet into {@code out}'s staging directory. */
  public static void write(SparkSession spark, ExactStatistics.Result result, OutputDirectory out)
      throws IOException {
    writeJson(result, out.fileSystem().create(out.file("stats.json"), false));
    writeParquet(spark, result, out.file("stats.parquet"));
  }

  static void writeJson(ExactStatistics.Result result, OutputStream stream) throws IOException {
    ObjectMapper mapper = new ObjectMapper();
    try (JsonGenerator g = mapper.getFactory().createGenerator(stream, JsonEncoding.UTF8)) {
      g.useDefaultPrettyPrinter();
      writeObject(g, result);
      g.writeRaw('\n');
    }
  }

  /** Writes the stats.json object for {@code result} to {@code g}. */
  static void writeObject(JsonGenerator g, ExactStatistics.Result result) throws IOException {
    g.writeStartObject();
    g.writeNumberField("rows", result.rows());
    g.writeArrayFieldStart("features");
    for (ExactStatistics.Feature f : result.features()) {
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
    g.writeEndObject();
  }

  /** Writes {@code v} as Double.toString does, NaN (undefined) as null. */
  static void number(JsonGenerator g, String field, double v) throws IOException {
    if (Double.isNaN(v)) {
      g.writeNullField(field);
    } else {
      g.writeNumberField(field, v); // Double.toString; infinities as "Infinity" strings
    }
  }

  private static void writeParquet(SparkSession spark, ExactStatistics.Result result, Path path) {
    writeParquet(spark, ExactStatistics.tableRows(result), SCHEMA, path);
  }

  /**
   * Writes a driver-side table as one Parquet file. The rows go to the executors in slices of about
   * 256 KB (Spark warns about tasks over 1 MB) and are gathered into one file by a shuffle.
   */
  static void writeParquet(SparkSession spark, List<Row> rows, StructType schema, Path path) {
    long bytes = (long) rows.size() * schema.size() * 12;
    int slices = (int) Math.max(1, Math.min(1024, bytes / (256 << 10)));
    JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    Dataset<Row> table = spark.createDataFrame(sc.parallelize(rows, slices), schema);
    (slices > 1 ? table.repartition(1) : table).write().parquet(path.toString());
  }

  /** {@code v}, or null for NaN (undefined). */
  static Double orNull(double v) {
    return Double.isNaN(v) ? null : v;
  }
}
