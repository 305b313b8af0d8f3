/**
 * The one package of normstats that uses Spark's internal APIs, the place to port per Spark
 * release: the Catalyst aggregate behind the exact SQL functions ({@link
 * io.normstats.spark.internal.ExactAggregate}, its state {@link
 * io.normstats.spark.internal.MomentsBuffer}), the optimizer rule that shares their state
 * ({@link io.normstats.spark.internal.SharedMomentsRule}) and what the session extensions inject
 * ({@link io.normstats.spark.internal.SqlExtensions}); the physical plan match that reads a file
 * scan's columnar batches ({@link io.normstats.spark.internal.ColumnarScan}); Spark's unsafe array
 * layout ({@link io.normstats.spark.internal.ArrayCopy}); and the registries of the file readers'
 * option names ({@link io.normstats.spark.internal.ReaderOptions}).
 *
 * <p>Elsewhere normstats uses Spark's public API, and of its row format only the data interfaces
 * that Spark's public connector API shares ({@code InternalRow}, {@code ArrayData},
 * {@code UTF8String}); {@code SparkInternalsTest} checks that. These classes are public so that
 * the other packages can call them; they are not normstats' API and may change with any release.
 */
package io.normstats.spark.internal;
