package io.normstats.jobs;

import io.normstats.spark.InputFormat;
import java.util.List;
import picocli.CommandLine.Option;

/**
 * The input, feature and output options every job takes (a picocli mixin): {@code --input},
 * {@code --format}, {@code --features} or {@code --vector-col}, {@code --output} and
 * {@code --overwrite}.
 */
public final class InputOptions {
  @Option(names = "--input", required = true, paramLabel = "PATH",
      description = "Input file or directory.")
  String input;

  @Option(names = "--format", defaultValue = "auto", paramLabel = "FORMAT",
      converter = FormatConverter.class,
      description = "auto|parquet|csv|json|idx (default: ${DEFAULT-VALUE}: by the file name).")
  InputFormat format;

  @Option(names = "--features", split = ",", paramLabel = "COL",
      description = "Scalar numeric columns (default: every numeric column, else the vector column).")
  List<String> features;

  @Option(names = "--vector-col", paramLabel = "COL",
      description = "One vector column: Spark ML Vector, array<double> or array<float>.")
  String vectorCol;

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
