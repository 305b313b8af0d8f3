package io.normstats.output;

import com.fasterxml.jackson.core.JsonGenerator;
import com.univocity.parsers.csv.CsvWriter;
import com.univocity.parsers.csv.CsvWriterSettings;
import io.normstats.exact.FeatureMoments;
import io.normstats.minibatch.Estimator;
import io.normstats.minibatch.LinearHistogram;
import io.normstats.report.Findings;
import io.normstats.report.ReportData;
import io.normstats.report.ReportHtml;
import io.normstats.result.FeatureStatistics;
import java.io.IOException;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Writes the report job's outputs: report.html ({@link ReportHtml}), report.json and features.csv.
 *
 * <p>report.json: {@code {"header": {"input", "rows", "features", "partitions", "spark_version",
 * "master", "phases": {name: seconds}, "image_shape": [C, H, W] or null}, "reading": [sentences],
 * "worst_features": [names], "batch_mean_distribution": {"feature", "name", "batch_size",
 * "exact_mean", "low", "high", "counts": [...], "below", "above", "min", "max"} or null,
 * "images": {"count", "channels": [names], "normalize": {"mean": [...], "std": [...]},
 * "level_histograms": [[256 counts] per channel]}, "compare": {the compare.json object},
 * "network": {the recalibrate.json object}}; "images" only for image inputs, "network" (and its
 * sentences in "reading") only with a model.
 *
 * <p>features.csv: one row per feature with a header: name, index, count, mean, var_pop, std_pop,
 * min, max, then for each batch size m the feature's errors
 * {@code batch_mean_err_in_std_m}, {@code ema_torch_var_rel_err_m}, {@code ema_keras_var_rel_err_m},
 * {@code cma_var_rel_err_m}; doubles as {@link Double#toString(double)}, undefined values empty.
 */
public final class ReportOutput {
  private ReportOutput() {}

  public static void write(ReportData d, OutputDirectory out) throws IOException {
    String html = ReportHtml.render(d);
    try (OutputStream s = out.fileSystem().create(out.file("report.html"), false)) {
      s.write(html.getBytes(StandardCharsets.UTF_8));
    }
    try (OutputStream s = out.fileSystem().create(out.file("report.json"), false)) {
      writeJson(d, s);
    }
    try (OutputStream s = out.fileSystem().create(out.file("features.csv"), false)) {
      writeCsv(d, s);
    }
  }

  static void writeJson(ReportData d, OutputStream stream) throws IOException {
    try (JsonGenerator g = JsonFiles.generator(stream)) {
      g.writeStartObject();
      g.writeObjectFieldStart("header");
      g.writeStringField("input", d.input());
      g.writeNumberField("rows", d.rows());
      g.writeNumberField("features", d.features().size());
      g.writeNumberField("partitions", d.partitions());
      g.writeStringField("spark_version", d.sparkVersion());
      g.writeStringField("master", d.master());
      g.writeObjectFieldStart("phases");
      for (Map.Entry<String, Double> p : d.phases().entrySet()) {
        g.writeNumberField(p.getKey(), p.getValue());
      }
      g.writeEndObject();
      if (d.imageShape() == null) {
        g.writeNullField("image_shape");
      } else {
        g.writeFieldName("image_shape");
        g.writeArray(d.imageShape(), 0, 3);
      }
      g.writeEndObject();
      g.writeArrayFieldStart("reading");
      for (String line : Findings.readings(d.comparison(), d.settings())) {
        g.writeString(line);
      }
      if (d.network() != null) {
        for (String line : Findings.networkReadings(d.network())) {
          g.writeString(line);
        }
      }
      g.writeEndArray();
      g.writeArrayFieldStart("worst_features");
      for (int j : Findings.worstFeatures(d.comparison(), 10)) {
        g.writeString(d.features().get(j).name());
      }
      g.writeEndArray();
      ReportData.BatchMeanDistribution dist = d.distribution();
      if (dist == null) {
        g.writeNullField("batch_mean_distribution");
      } else {
        LinearHistogram h = dist.histogram();
        g.writeObjectFieldStart("batch_mean_distribution");
        g.writeNumberField("feature", dist.feature());
        g.writeStringField("name", dist.name());
        g.writeNumberField("batch_size", dist.batchSize());
        g.writeNumberField("exact_mean", dist.exactMean());
        g.writeNumberField("low", h.low());
        g.writeNumberField("high", h.high());
        g.writeFieldName("counts");
        long[] counts = h.counts();
        g.writeArray(counts, 0, counts.length);
        g.writeNumberField("below", h.below());
        g.writeNumberField("above", h.above());
        g.writeNumberField("min", h.min());
        g.writeNumberField("max", h.max());
        g.writeEndObject();
      }
      if (d.images() != null) {
        g.writeObjectFieldStart("images");
        g.writeNumberField("count", d.images().images());
        g.writeArrayFieldStart("channels");
        for (var f : d.images().statistics().features()) {
          g.writeString(f.name());
        }
        g.writeEndArray();
        g.writeObjectFieldStart("normalize");
        g.writeFieldName("mean");
        g.writeArray(d.images().normalizeMean(), 0, d.images().normalizeMean().length);
        g.writeFieldName("std");
        g.writeArray(d.images().normalizeStd(), 0, d.images().normalizeStd().length);
        g.writeEndObject();
        g.writeArrayFieldStart("level_histograms");
        for (long[] counts : d.images().histograms()) {
          g.writeArray(counts, 0, counts.length);
        }
        g.writeEndArray();
        g.writeEndObject();
      }
      g.writeFieldName("compare");
      CompareOutput.writeObject(g, d.exact(), d.settings(), d.comparison());
      if (d.network() != null) {
        g.writeFieldName("network");
        RecalibrateOutput.writeObject(g, d.network().description(), d.network().result(),
            d.network().evaluation());
      }
      g.writeEndObject();
      g.writeRaw('\n');
    }
  }

  static void writeCsv(ReportData d, OutputStream stream) throws IOException {
    List<String> header = new ArrayList<>(List.of("name", "index", "count", "mean", "var_pop",
        "std_pop", "min", "max"));
    int[] sizes = d.settings().batchSizes();
    for (int m : sizes) {
      header.addAll(List.of("batch_mean_err_in_std_" + m, "ema_torch_var_rel_err_" + m,
          "ema_keras_var_rel_err_" + m, "cma_var_rel_err_" + m));
    }
    Writer writer = new OutputStreamWriter(stream, StandardCharsets.UTF_8);
    CsvWriter csv = new CsvWriter(writer, new CsvWriterSettings());
    csv.writeHeaders(header);
    for (FeatureStatistics f : d.features()) {
      FeatureMoments m = f.moments();
      List<Object> row = new ArrayList<>(List.of(f.name(), f.index(), m.count(), str(m.mean()),
          str(m.varPop()), str(m.stdPop()), str(m.min()), str(m.max())));
      for (int size : sizes) {
        row.add(str(Findings.result(d.comparison(), size, Estimator.BATCH).features()
            .get(f.index()).meanErrInStd()));
        for (Estimator e : List.of(Estimator.EMA_TORCH, Estimator.EMA_KERAS, Estimator.CMA)) {
          row.add(str(Findings.result(d.comparison(), size, e).features().get(f.index())
              .varRelErr()));
        }
      }
      csv.writeRow(row);
    }
    csv.close();
  }

  private static String str(double v) {
    return Double.isNaN(v) ? "" : Double.toString(v);
  }
}
