package io.normstats.spark.input;

import java.util.Locale;

/** The input formats the jobs read. {@link #AUTO} picks one from the file name. */
public enum InputFormat {
  AUTO, PARQUET, CSV, JSON, IDX,
  /** Image files (PNG, JPEG, BMP, GIF, WebP, TIFF), read by {@link ImageStatistics}. */
  IMAGE;

  /**
   * The format a file name implies: {@code .parquet}, {@code .csv}, {@code .json}/{@code .jsonl}/
   * {@code .ndjson}, IDX for {@code *-idxN-ubyte} or {@code .idx} names, and IMAGE for the
   * extensions of {@link io.normstats.io.ImageDecoder#EXTENSIONS}; a trailing {@code .gz} is
   * ignored. Returns null when the name says nothing.
   */
  public static InputFormat fromFileName(String fileName) {
    String n = fileName.toLowerCase(Locale.ROOT);
    if (n.endsWith(".gz")) {
      n = n.substring(0, n.length() - 3);
    }
    if (n.endsWith(".parquet")) {
      return PARQUET;
    }
    if (n.endsWith(".csv")) {
      return CSV;
    }
    if (n.endsWith(".json") || n.endsWith(".jsonl") || n.endsWith(".ndjson")) {
      return JSON;
    }
    if (n.endsWith(".idx") || n.matches(".*[-.]idx[0-9]+-ubyte")) {
      return IDX;
    }
    if (io.normstats.io.ImageDecoder.isImagePath(n)) {
      return IMAGE;
    }
    return null;
  }

  /** Parses a command-line value such as {@code parquet} (case-insensitive). */
  public static InputFormat parse(String value) {
    return valueOf(value.toUpperCase(Locale.ROOT));
  }
}
