/**
 * Reading what users bring into DataFrames: Parquet, ORC, CSV, JSON and IDX files, image files and
 * image columns ({@link io.normstats.spark.input.Inputs}, {@link io.normstats.spark.input.IdxSource},
 * {@link io.normstats.spark.input.ImageInputs}), the input formats and how a file name picks one
 * ({@link io.normstats.spark.input.InputFormat}), and Spark's read failures told as one line
 * naming the file ({@link io.normstats.spark.input.ReadErrors}). The stats engine, which reads
 * these DataFrames, is the package above.
 */
package io.normstats.spark.input;
