package io.normstats.bench;

import io.normstats.spark.ExactStatistics;
import io.normstats.spark.FeatureSelection;
import java.math.BigDecimal;
import java.math.MathContext;
import java.util.List;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.stat.Summarizer;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;

/**
 * Measures how far Spark's SQL var_pop and ML Summarizer are from normstats' exact variance, for
 * 1 and 8 partitions, on 2,000,000 values of 1e9 + 10*U(0,1) and on 2^50 + small integers.
 *
 * <p>A measurement, not a test: the README's "Measured on this machine" section says how to run it.
 */
public final class SparkAccuracy {
  public static void main(String[] args) {
    SparkSession spark = SparkSession.builder().master("local[2]").appName("accuracy")
        .config("spark.ui.enabled", "false").getOrCreate();
    long n = 2_000_000;
    measure(spark, "1e9 + 10*U(0,1)", spark.range(n).select(
        functions.rand(7).multiply(10).plus(1e9).as("x")));
    measure(spark, "2^50 + integers in [-1000, 1000)", spark.range(n).select(
        functions.floor(functions.rand(7).multiply(2000)).minus(1000).plus(Math.pow(2, 50)).as("x")));
    spark.stop();
  }

  private static void measure(SparkSession spark, String name, Dataset<Row> data) {
    Dataset<Row> df = data.localCheckpoint(); // fix the random values
    for (int partitions : new int[] {1, 8}) {
      Dataset<Row> p = df.repartition(partitions).cache();
      double exact = ExactStatistics.compute(p, FeatureSelection.resolve(p, List.of("x"), null))
          .features().get(0).moments().varPop();
      double sql = p.agg(functions.var_pop("x")).first().getDouble(0);
      Dataset<Row> vec = new org.apache.spark.ml.feature.VectorAssembler()
          .setInputCols(new String[] {"x"}).setOutputCol("v").transform(p);
      Vector summ = (Vector) vec.select(Summarizer.variance(vec.col("v"))).first().get(0);
      long count = p.count();
      double summarizerPop = summ.apply(0) * (count - 1) / count; // Summarizer is unbiased
      System.out.printf("%-34s partitions=%d exact var_pop=%s  SQL var_pop rel.err=%.2e"
          + "  Summarizer rel.err=%.2e%n", name, partitions, exact, rel(sql, exact),
          rel(summarizerPop, exact));
      p.unpersist();
    }
  }

  private static double rel(double value, double exact) {
    return new BigDecimal(value).subtract(new BigDecimal(exact)).abs()
        .divide(new BigDecimal(exact), MathContext.DECIMAL64).doubleValue();
  }
}
