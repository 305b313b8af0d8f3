/**
 * The stats engine on Spark: the exact statistics of a DataFrame's features in one pass
 * ({@link io.normstats.spark.ExactStatistics}, with {@link io.normstats.spark.FeatureSelection}
 * choosing and naming the features), of an image dataset's pixels
 * ({@link io.normstats.spark.ImageStatistics}), and the minibatch comparison
 * ({@link io.normstats.spark.MinibatchComparison}); how rows reach the exact accumulators (row
 * folding, columnar scans, packed rows) and the input order a pass records. The inputs are read
 * by {@code io.normstats.spark.input}; the results are the records of {@code io.normstats.result}.
 */
package io.normstats.spark;
