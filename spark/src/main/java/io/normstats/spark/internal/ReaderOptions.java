package io.normstats.spark.internal;

import java.util.List;
import java.util.Locale;

/**
 * The option names Spark's file readers know, from Spark's own registries (its CSV, JSON and
 * Parquet option objects and the file index's options), so that a misspelled reader option fails
 * instead of being ignored as Spark ignores it.
 */
public final class ReaderOptions {
  /** The options every file source takes, whatever the format. */
  private static final List<String> FILE_SOURCE_OPTIONS = List.of("ignoreCorruptFiles",
      "ignoreMissingFiles");

  private ReaderOptions() {}

  /**
   * Whether {@code key} is an option of Spark's reader of {@code format} ({@code csv},
   * {@code json} or {@code parquet}, any case) or of every file source; false for any other format.
   */
  public static boolean isValid(String format, String key) {
    boolean valid = switch (format.toLowerCase(Locale.ROOT)) {
      case "csv" -> org.apache.spark.sql.catalyst.csv.CSVOptions$.MODULE$.isValidOption(key);
      case "json" -> org.apache.spark.sql.catalyst.json.JSONOptions$.MODULE$.isValidOption(key);
      case "parquet" -> org.apache.spark.sql.execution.datasources.parquet.ParquetOptions$.MODULE$
          .isValidOption(key);
      default -> false;
    };
    // options of every file source; Spark's registry holds some names in lower case only
    return valid || FILE_SOURCE_OPTIONS.stream().anyMatch(key::equalsIgnoreCase)
        || org.apache.spark.sql.execution.datasources.FileIndexOptions$.MODULE$.getAllOptions()
            .exists(o -> o.equalsIgnoreCase(key));
  }
}
