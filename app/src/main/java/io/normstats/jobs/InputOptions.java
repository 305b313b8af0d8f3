package io.normstats.jobs;

import io.normstats.spark.input.InputFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Option;

/**
 * The input, feature and output options every job takes (a picocli mixin): {@code --input},
 * {@code --format}, {@code --features} or {@code --vector-col}, {@code --read-option},
 * {@code --output} and {@code --overwrite}.
 */
public final class InputOptions {
  @Option(names = "--input", required = true, paramLabel = "PATH",
      description = "Input file or directory.")
  String input;

  @Option(names = "--format", defaultValue = "auto", paramLabel = "FORMAT",
      converter = FormatConverter.class,
      description = "auto|parquet|csv|json|idx|image (default: ${DEFAULT-VALUE}: by the file "
          + "name; image: PNG, JPEG, BMP, GIF, WebP or TIFF files, a directory of them read "
          + "recursively, or a glob).")
  InputFormat format;

  @Option(names = "--features", split = ",", paramLabel = "COL",
      description = "Scalar numeric columns (default: every numeric column, else the vector column).")
  List<String> features;

  @Option(names = "--vector-col", paramLabel = "COL",
      description = "One vector column: Spark ML Vector, array<double> or array<float>.")
  String vectorCol;

  @Option(names = "--read-option", paramLabel = "KEY=VALUE",
      description = "A Spark reader option for the input (repeatable), e.g. sep=; or "
          + "encoding=ISO-8859-1 for CSV, multiLine=true for JSON, mergeSchema=true for Parquet, "
          + "nullValue=NA, recursiveFileLookup=true. Set after normstats' own CSV options "
          + "(header, inferSchema, mode=FAILFAST), which it can override.")
  Map<String, String> readOptions = new LinkedHashMap<>();

  @Option(names = "--output", required = true, paramLabel = "DIR", description = "Output directory.")
  String output;

  @Option(names = "--overwrite", description = "Replace DIR if it holds a previous normstats output.")
  boolean overwrite;

  static final class FormatConverter implements picocli.CommandLine.ITypeConverter<InputFormat> {
    @Override
    public InputFormat convert(String value) {
      return InputFormat.parse(value);
    }
  }
}
