package io.normstats.output;

import com.fasterxml.jackson.core.JsonGenerator;
import io.normstats.minibatch.BatchSchedule;
import io.normstats.minibatch.CompareSettings;
import io.normstats.minibatch.Comparison;
import io.normstats.minibatch.ErrorHistogram;
import io.normstats.minibatch.FeatureErrors;
import io.normstats.minibatch.Spread;
import io.normstats.result.DatasetStatistics;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * Writes the compare job's result as {@code compare.json} and {@code compare.parquet}.
 *
 * <p>compare.json:
 * <pre>{@code
 * {"exact": {the stats.json object},
 *  "settings": {"batch_sizes", "epochs", "shuffle", "seed", "drop_last", "momentum",
 *               "keras_momentum", "epsilon", "trace_points", "renorm_rmax", "renorm_dmax"},
 *  "batch_sizes": [m, ...],
 *  "schedules": [{"batch_size", "batches_per_epoch", "steps", "rows_per_epoch"}, ...],
 *  "results": [{"batch_size", "estimator", "features": [{"name", "index", "mean", "var",
 *      "exact_mean", "exact_var", "mean_abs_err", "mean_rel_err", "mean_err_in_std",
 *      "var_abs_err", "var_rel_err", "var_ratio", "kl", "output_mean", "output_var"}, ...],
 *      "summary": {"mean_abs_err": {"median", "p90", "max", "defined"}, ...}}, ...],
 *  "trace": [{"batch_size", "estimator", "points": [{"step", "epoch",
 *      "mean_err_in_std": {"median", "max"}, "var_rel_err": {"median", "max"}}, ...]}, ...],
 *  "train_vs_predict": [{"batch_size", "bn": {"mse_mean", "mse": {spread}},
 *      "renorm": {"mse_mean", "mse": {spread}, "r_clip_fraction", "d_clip_fraction",
 *      "clip_fraction"}, "features": [{"name", "index", "bn_mse", "renorm_mse",
 *      "r_clip_fraction", "d_clip_fraction", "clip_fraction"}, ...]}, ...],
 *  "batch_distribution": [{"batch_size", "mean_err_in_std": {"p50", "p90", "p99", "max", "pairs",
 *      "undefined"}, "var_rel_err": {...}, "histogram": {"upper_edges": [...],
 *      "mean_err_in_std": [counts], "var_rel_err": [counts]}}, ...]}
 * }</pre>
 * Field meanings are those of {@link FeatureErrors} and {@link Comparison}; the batch
 * distribution's quantiles are upper bounds from {@link ErrorHistogram}'s bins (at most 12% high).
 * Numbers are written as the shortest decimal that parses back to the same double; undefined values
 * are null; infinite ones the string {@code "Infinity"}.
 *
 * <p>compare.parquet: one row per (batch size, estimator, feature) with the columns of
 * {@link #SCHEMA}.
 */
public final class CompareOutput {
  /** The columns of compare.parquet. */
  public static final StructType SCHEMA = new StructType()
      .add("batch_size", DataTypes.IntegerType, false)
      .add("estimator", DataTypes.StringType, false)
      .add("name", DataTypes.StringType, false)
      .add("index", DataTypes.IntegerType, false)
      .add("mean", DataTypes.DoubleType, true)
      .add("var", DataTypes.DoubleType, true)
      .add("exact_mean", DataTypes.DoubleType, true)
      .add("exact_var", DataTypes.DoubleType, true)
      .add("mean_abs_err", DataTypes.DoubleType, true)
      .add("mean_rel_err", DataTypes.DoubleType, true)
      .add("mean_err_in_std", DataTypes.DoubleType, true)
      .add("var_abs_err", DataTypes.DoubleType, true)
      .add("var_rel_err", DataTypes.DoubleType, true)
      .add("var_ratio", DataTypes.DoubleType, true)
      .add("kl", DataTypes.DoubleType, true)
      .add("output_mean", DataTypes.DoubleType, true)
      .add("output_var", DataTypes.DoubleType, true);

  private CompareOutput() {}

  /**
   * Writes compare.json and compare.parquet into {@code out}'s staging directory, at the same time
   * ({@link StatsOutput#whileSparkWrites}).
   */
  public static void write(SparkSession spark, DatasetStatistics exact,
      CompareSettings settings, Comparison.Result result, OutputDirectory out) throws IOException {
    StatsOutput.whileSparkWrites(() -> writeParquet(spark, result, out.file("compare.parquet")),
        () -> writeJson(exact, settings, result,
            out.fileSystem().create(out.file("compare.json"), false)));
  }

  public static void writeJson(DatasetStatistics exact, CompareSettings settings,
      Comparison.Result result, OutputStream stream) throws IOException {
    try (JsonGenerator g = JsonFiles.generator(stream)) {
      writeObject(g, exact, settings, result);
      g.writeRaw('\n');
    }
  }

  /** Writes the compare.json object to {@code g}. */
  static void writeObject(JsonGenerator g, DatasetStatistics exact, CompareSettings settings,
      Comparison.Result result) throws IOException {
    g.writeStartObject();
    g.writeFieldName("exact");
    StatsOutput.writeObject(g, exact);
    writeSettings(g, settings);
    g.writeArrayFieldStart("batch_sizes");
    for (int m : settings.batchSizes()) {
      g.writeNumber(m);
    }
    g.writeEndArray();
    g.writeArrayFieldStart("schedules");
    for (BatchSchedule s : result.schedules()) {
      g.writeStartObject();
      g.writeNumberField("batch_size", s.batchSize());
      g.writeNumberField("batches_per_epoch", s.batchesPerEpoch());
      g.writeNumberField("steps", s.steps());
      g.writeNumberField("rows_per_epoch", s.rowsUsedPerEpoch());
      g.writeEndObject();
    }
    g.writeEndArray();
    g.writeArrayFieldStart("results");
    for (Comparison.EstimatorResult r : result.results()) {
      writeResult(g, r);
    }
    g.writeEndArray();
    g.writeArrayFieldStart("trace");
    for (Comparison.Trace t : result.traces()) {
      writeTrace(g, t);
    }
    g.writeEndArray();
    g.writeArrayFieldStart("train_vs_predict");
    for (Comparison.Gap gap : result.gaps()) {
      writeGap(g, gap);
    }
    g.writeEndArray();
    g.writeArrayFieldStart("batch_distribution");
    for (Comparison.BatchDistribution d : result.batchDistributions()) {
      writeDistribution(g, d);
    }
    g.writeEndArray();
    g.writeEndObject();
  }

  private static void writeSettings(JsonGenerator g, CompareSettings s) throws IOException {
    g.writeObjectFieldStart("settings");
    g.writeArrayFieldStart("batch_sizes");
    for (int m : s.batchSizes()) {
      g.writeNumber(m);
    }
    g.writeEndArray();
    g.writeNumberField("epochs", s.epochs());
    g.writeBooleanField("shuffle", s.shuffle());
    g.writeNumberField("seed", s.seed());
    g.writeBooleanField("drop_last", s.dropLast());
    g.writeNumberField("momentum", s.momentum());
    g.writeNumberField("keras_momentum", s.kerasMomentum());
    g.writeNumberField("epsilon", s.epsilon());
    g.writeNumberField("trace_points", s.tracePoints());
    g.writeNumberField("renorm_rmax", s.renormRmax());
    g.writeNumberField("renorm_dmax", s.renormDmax());
    g.writeEndObject();
  }

  private static void writeResult(JsonGenerator g, Comparison.EstimatorResult r)
      throws IOException {
    g.writeStartObject();
    g.writeNumberField("batch_size", r.batchSize());
    g.writeStringField("estimator", r.estimator().wireName());
    g.writeArrayFieldStart("features");
    for (FeatureErrors e : r.features()) {
      g.writeStartObject();
      g.writeStringField("name", e.name());
      g.writeNumberField("index", e.index());
      StatsOutput.number(g, "mean", e.mean());
      StatsOutput.number(g, "var", e.var());
      StatsOutput.number(g, "exact_mean", e.exactMean());
      StatsOutput.number(g, "exact_var", e.exactVar());
      StatsOutput.number(g, "mean_abs_err", e.meanAbsErr());
      StatsOutput.number(g, "mean_rel_err", e.meanRelErr());
      StatsOutput.number(g, "mean_err_in_std", e.meanErrInStd());
      StatsOutput.number(g, "var_abs_err", e.varAbsErr());
      StatsOutput.number(g, "var_rel_err", e.varRelErr());
      StatsOutput.number(g, "var_ratio", e.varRatio());
      StatsOutput.number(g, "kl", e.kl());
      StatsOutput.number(g, "output_mean", e.outputMean());
      StatsOutput.number(g, "output_var", e.outputVar());
      g.writeEndObject();
    }
    g.writeEndArray();
    g.writeObjectFieldStart("summary");
    for (Map.Entry<String, Spread> e : r.summary().entrySet()) {
      g.writeFieldName(e.getKey());
      writeSpread(g, e.getValue(), true);
    }
    g.writeEndObject();
    g.writeEndObject();
  }

  private static void writeSpread(JsonGenerator g, Spread s, boolean full) throws IOException {
    g.writeStartObject();
    StatsOutput.number(g, "median", s.median());
    if (full) {
      StatsOutput.number(g, "p90", s.p90());
    }
    StatsOutput.number(g, "max", s.max());
    if (full) {
      g.writeNumberField("defined", s.defined());
    }
    g.writeEndObject();
  }

  private static void writeTrace(JsonGenerator g, Comparison.Trace t) throws IOException {
    g.writeStartObject();
    g.writeNumberField("batch_size", t.batchSize());
    g.writeStringField("estimator", t.estimator().wireName());
    g.writeArrayFieldStart("points");
    for (Comparison.TracePoint p : t.points()) {
      g.writeStartObject();
      g.writeNumberField("step", p.step());
      g.writeNumberField("epoch", p.epoch());
      g.writeFieldName("mean_err_in_std");
      writeSpread(g, p.meanErrInStd(), false);
      g.writeFieldName("var_rel_err");
      writeSpread(g, p.varRelErr(), false);
      g.writeEndObject();
    }
    g.writeEndArray();
    g.writeEndObject();
  }

  private static void writeGap(JsonGenerator g, Comparison.Gap gap) throws IOException {
    g.writeStartObject();
    g.writeNumberField("batch_size", gap.batchSize());
    g.writeObjectFieldStart("bn");
    StatsOutput.number(g, "mse_mean", gap.bnMseMean());
    g.writeFieldName("mse");
    writeSpread(g, gap.bnMse(), true);
    g.writeEndObject();
    g.writeObjectFieldStart("renorm");
    StatsOutput.number(g, "mse_mean", gap.renormMseMean());
    g.writeFieldName("mse");
    writeSpread(g, gap.renormMse(), true);
    StatsOutput.number(g, "r_clip_fraction", gap.rClipFraction());
    StatsOutput.number(g, "d_clip_fraction", gap.dClipFraction());
    StatsOutput.number(g, "clip_fraction", gap.clipFraction());
    g.writeEndObject();
    g.writeArrayFieldStart("features");
    for (Comparison.FeatureGap f : gap.features()) {
      g.writeStartObject();
      g.writeStringField("name", f.name());
      g.writeNumberField("index", f.index());
      StatsOutput.number(g, "bn_mse", f.bnMse());
      StatsOutput.number(g, "renorm_mse", f.renormMse());
      StatsOutput.number(g, "r_clip_fraction", f.rClipFraction());
      StatsOutput.number(g, "d_clip_fraction", f.dClipFraction());
      StatsOutput.number(g, "clip_fraction", f.clipFraction());
      g.writeEndObject();
    }
    g.writeEndArray();
    g.writeEndObject();
  }

  private static void writeDistribution(JsonGenerator g, Comparison.BatchDistribution d)
      throws IOException {
    g.writeStartObject();
    g.writeNumberField("batch_size", d.batchSize());
    writeQuantiles(g, "mean_err_in_std", d.meanErrInStd());
    writeQuantiles(g, "var_rel_err", d.varRelErr());
    g.writeObjectFieldStart("histogram");
    g.writeArrayFieldStart("upper_edges");
    for (int i = 0; i < d.meanErrInStd().counts().length; i++) {
      g.writeNumber(ErrorHistogram.upperEdge(i));
    }
    g.writeEndArray();
    g.writeFieldName("mean_err_in_std");
    long[] counts = d.meanErrInStd().counts();
    g.writeArray(counts, 0, counts.length);
    g.writeFieldName("var_rel_err");
    counts = d.varRelErr().counts();
    g.writeArray(counts, 0, counts.length);
    g.writeEndObject();
    g.writeEndObject();
  }

  private static void writeQuantiles(JsonGenerator g, String name, ErrorHistogram h)
      throws IOException {
    g.writeObjectFieldStart(name);
    StatsOutput.number(g, "p50", h.quantileUpperBound(0.5));
    StatsOutput.number(g, "p90", h.quantileUpperBound(0.9));
    StatsOutput.number(g, "p99", h.quantileUpperBound(0.99));
    StatsOutput.number(g, "max", h.max());
    g.writeNumberField("pairs", h.defined());
    g.writeNumberField("undefined", h.undefined());
    g.writeEndObject();
  }

  private static void writeParquet(SparkSession spark, Comparison.Result result, Path path) {
    List<Row> rows = new ArrayList<>();
    for (Comparison.EstimatorResult r : result.results()) {
      for (FeatureErrors e : r.features()) {
        rows.add(RowFactory.create(r.batchSize(), r.estimator().wireName(), e.name(), e.index(),
            StatsOutput.orNull(e.mean()), StatsOutput.orNull(e.var()), StatsOutput.orNull(e.exactMean()), StatsOutput.orNull(e.exactVar()),
            StatsOutput.orNull(e.meanAbsErr()), StatsOutput.orNull(e.meanRelErr()), StatsOutput.orNull(e.meanErrInStd()),
            StatsOutput.orNull(e.varAbsErr()), StatsOutput.orNull(e.varRelErr()), StatsOutput.orNull(e.varRatio()), StatsOutput.orNull(e.kl()),
            StatsOutput.orNull(e.outputMean()), StatsOutput.orNull(e.outputVar())));
      }
    }
    StatsOutput.writeParquet(spark, rows, SCHEMA, path);
  }
}
