package io.normstats.jobs;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.normstats.output.CompareOutput;
import io.normstats.output.StatsOutput;
import io.normstats.sql.ExactFunctions;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;

/**
 * The docs site's output schemas, {@code docs/reference/schemas.md}, are the schemas the code
 * writes: the Parquet tables' columns come from the {@code SCHEMA} constants the outputs are written
 * with, each with a description kept here, so a column added without one fails this test. Regenerate
 * with {@code mvn -B test -Dtest=SchemasReferenceTest -Dsurefire.failIfNoSpecifiedTests=false
 * -Dnormstats.updateDocs=true}.
 */
class SchemasReferenceTest {
  static final Path PAGE = Path.of("docs/reference/schemas.md");

  static final Map<String, String> STATS = Map.ofEntries(
      Map.entry("name", "the feature: a column name, `col[i]` for element i of a vector column, "
          + "`col[channel c]` with `--num-channels`"),
      Map.entry("index", "the feature's position, from 0"),
      Map.entry("count", "finite values counted"),
      Map.entry("mean", "nearest double to the exact mean; null without a value"),
      Map.entry("var_pop", "nearest double to the exact population variance (/n)"),
      Map.entry("var_samp", "nearest double to the exact sample variance (/(n-1)); null for one value"),
      Map.entry("std_pop", "nearest double to the square root of the exact var_pop"),
      Map.entry("std_samp", "nearest double to the square root of the exact var_samp"),
      Map.entry("min", "smallest finite value"),
      Map.entry("max", "largest finite value"),
      Map.entry("null_count", "null values (left out with `--handle-invalid skip`)"),
      Map.entry("nan_count", "NaN and infinite values (left out with `--handle-invalid skip`)"));

  static final Map<String, String> COMPARE = Map.ofEntries(
      Map.entry("batch_size", "the minibatch size m"),
      Map.entry("estimator", "`batch`, `average`, `ema-torch`, `ema-keras`, `cma` or `precise` "
          + "([Estimators](../concepts/estimators.md))"),
      Map.entry("name", "the feature, as in stats.parquet"),
      Map.entry("index", "the feature's position, from 0"),
      Map.entry("mean", "the estimator's mean"),
      Map.entry("var", "the estimator's variance"),
      Map.entry("exact_mean", "the exact mean (stats.parquet's `mean`)"),
      Map.entry("exact_var", "the exact population variance (stats.parquet's `var_pop`)"),
      Map.entry("mean_abs_err", "abs(mean - exact_mean)"),
      Map.entry("mean_rel_err", "mean_abs_err / abs(exact_mean); null for a zero mean"),
      Map.entry("mean_err_in_std", "mean_abs_err / sqrt(exact_var); null for a constant feature"),
      Map.entry("var_abs_err", "abs(var - exact_var)"),
      Map.entry("var_rel_err", "var_abs_err / exact_var; null for a constant feature"),
      Map.entry("var_ratio", "var / exact_var"),
      Map.entry("kl", "KL(N(exact_mean, exact_var + eps) || N(mean, var + eps)), in nats"),
      Map.entry("output_mean", "prediction-mode BatchNorm's output mean with this estimate: "
          + "(exact_mean - mean) / sqrt(var + eps)"),
      Map.entry("output_var", "its output variance: exact_var / (var + eps)"));

  static String render() {
    StringBuilder page = new StringBuilder();
    page.append("# Output schemas\n\n")
        .append("<!-- Generated from the code's schemas by SchemasReferenceTest; do not edit. -->\n\n")
        .append("Every job writes into `--output DIR`, all or nothing ")
        .append("([Bad input and failures](../guides/errors.md)). Doubles in JSON are the shortest ")
        .append("decimal that parses back to the same bits; an undefined value is `null`.\n\n")
        .append("| job | files |\n| --- | --- |\n")
        .append("| `stats`, `merge-stats` | `stats.json`, `stats.parquet` (below), `state/` "
            + "([The `stats` job](../guides/stats.md)); on images, one row per channel and "
            + "stats.json's `images` and `normalize` ([Images](../guides/images.md)) |\n")
        .append("| `compare` | `compare.json` (its `exact` is stats.json), `compare.parquet` (below) "
            + "([Compare and report](../guides/compare-and-report.md)) |\n")
        .append("| `report` | `report.html`, `report.json` (its `compare` is compare.json), "
            + "`features.csv` ([Compare and report](../guides/compare-and-report.md)) |\n")
        .append("| `fit` | a Spark ML `PipelineModel`; `--safetensors FILE` "
            + "([Spark ML stages](../guides/ml-stages.md)) |\n")
        .append("| `normalize` | the input's columns and the normalized one, in Parquet, JSON or CSV "
            + "([Spark ML stages](../guides/ml-stages.md)) |\n")
        .append("| `recalibrate` | `model.onnx`, `bn_stats.safetensors`, `recalibrate.json`, "
            + "`model_folded.onnx` with `--fold` ([Trained networks](../guides/recalibrate.md)) |\n");
    table(page, "stats.parquet",
        "One row per feature (with `--group-by`, per group and feature, the group-by columns "
            + "first); `stats.json`'s `features` hold the same fields. Python's "
            + "`normstats.exact_stats` and Java's `io.normstats.sql.ExactStats.of` return this "
            + "table.", StatsOutput.SCHEMA, STATS);
    table(page, "compare.parquet", "One row per batch size, estimator and feature.",
        CompareOutput.SCHEMA, COMPARE);
    table(page, "exact_moments",
        "The struct the SQL function `exact_moments` returns, per group (an array of them, one "
            + "per element, over a vector or array column).", ExactFunctions.MOMENTS_TYPE, STATS);
    return page.toString();
  }

  private static void table(StringBuilder page, String title, String intro, StructType schema,
      Map<String, String> descriptions) {
    page.append("\n## ").append(title).append("\n\n").append(intro).append("\n\n")
        .append("| column | type | nullable | what it is |\n| --- | --- | --- | --- |\n");
    for (StructField f : schema.fields()) {
      String description = descriptions.get(f.name());
      assertTrue(description != null, title + " column '" + f.name() + "' has no description");
      page.append("| `").append(f.name()).append("` | ").append(f.dataType().simpleString())
          .append(" | ").append(f.nullable() ? "yes" : "no").append(" | ")
          .append(description.replace("|", "\\|"))
          .append(" |\n");
    }
  }

  @Test
  void thePageIsTheSchemasTheJobsWrite() throws IOException {
    GeneratedPage.check(PAGE, render(), SchemasReferenceTest.class);
  }
}
