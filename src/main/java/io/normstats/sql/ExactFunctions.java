package io.normstats.sql;

import io.normstats.sql.ExactAggregator.Statistic;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.expressions.UserDefinedFunction;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;

/**
 * Exact aggregate functions for DataFrames, like those of {@code org.apache.spark.sql.functions}
 * and drop-in replacements for {@code avg}, {@code var_pop}, {@code var_samp}, {@code stddev_pop}
 * and {@code stddev_samp}: each result is the double nearest the exact value over the group's
 * values (one rounding, ties to even; the standard deviations the correctly rounded square root of
 * the exact variance), bit-for-bit the same for any partitioning.
 *
 * <pre>
 *   df.groupBy("day").agg(exact_mean(col("x")), exact_var_pop(col("x")), exact_moments(col("y")))
 * </pre>
 *
 * <p>Semantics as Spark's own: the input column (double, float, integer, long or decimal; cast to
 * double first, which is exact up to 2^53 for longs) has its NULLs ignored; a group without a
 * non-null value gives NULL, as does var_samp of one value; a NaN or an infinity makes the mean and
 * the variances NaN. Per group and column the aggregation state is a {@link
 * io.normstats.exact.ScalarMoments}: 91 bytes in the shuffle for a group of 3 values near 1e9.
 */
public final class ExactFunctions {
  private ExactFunctions() {}

  private static final UserDefinedFunction MEAN = udaf(Statistic.MEAN);
  private static final UserDefinedFunction VAR_POP = udaf(Statistic.VAR_POP);
  private static final UserDefinedFunction VAR_SAMP = udaf(Statistic.VAR_SAMP);
  private static final UserDefinedFunction STDDEV_POP = udaf(Statistic.STDDEV_POP);
  private static final UserDefinedFunction STDDEV_SAMP = udaf(Statistic.STDDEV_SAMP);
  private static final UserDefinedFunction MOMENTS = functions.udaf(ExactAggregator.moments(),
      Encoders.DOUBLE()).withName("exact_moments");

  private static final UserDefinedFunction STATE = functions.udaf(ExactAggregator.state(),
      Encoders.DOUBLE()).withName("exact_state");

  /** Each group's mergeable state, as {@link io.normstats.exact.ScalarMoments#toBytes()}. */
  static Column exact_state(Column c) {
    return apply(STATE, c);
  }

  private static UserDefinedFunction udaf(Statistic s) {
    ExactAggregator<Double> agg = ExactAggregator.of(s);
    return functions.udaf(agg, Encoders.DOUBLE()).withName(agg.sqlName());
  }

  private static Column apply(UserDefinedFunction f, Column c) {
    return f.apply(c.cast(DataTypes.DoubleType));
  }

  /** The correctly rounded mean of the column's non-null values (a double; NULL for none). */
  public static Column exact_mean(Column c) {
    return apply(MEAN, c);
  }

  /** {@link #exact_mean(Column)} of the named column. */
  public static Column exact_mean(String column) {
    return exact_mean(functions.col(column));
  }

  /** The correctly rounded population variance (/n) of the non-null values; NULL for none. */
  public static Column exact_var_pop(Column c) {
    return apply(VAR_POP, c);
  }

  /** {@link #exact_var_pop(Column)} of the named column. */
  public static Column exact_var_pop(String column) {
    return exact_var_pop(functions.col(column));
  }

  /** The correctly rounded sample variance (/(n-1)); NULL for fewer than two values. */
  public static Column exact_var_samp(Column c) {
    return apply(VAR_SAMP, c);
  }

  /** {@link #exact_var_samp(Column)} of the named column. */
  public static Column exact_var_samp(String column) {
    return exact_var_samp(functions.col(column));
  }

  /** The correctly rounded square root of the exact population variance; NULL for none. */
  public static Column exact_stddev_pop(Column c) {
    return apply(STDDEV_POP, c);
  }

  /** {@link #exact_stddev_pop(Column)} of the named column. */
  public static Column exact_stddev_pop(String column) {
    return exact_stddev_pop(functions.col(column));
  }

  /** The correctly rounded square root of the exact sample variance; NULL for fewer than two. */
  public static Column exact_stddev_samp(Column c) {
    return apply(STDDEV_SAMP, c);
  }

  /** {@link #exact_stddev_samp(Column)} of the named column. */
  public static Column exact_stddev_samp(String column) {
    return exact_stddev_samp(functions.col(column));
  }

  /**
   * Every statistic at once, as a struct ({@link ExactAggregator#MOMENTS_TYPE}): count, mean,
   * var_pop, var_samp, std_pop, std_samp, min, max, null_count, nan_count.
   */
  public static Column exact_moments(Column c) {
    return apply(MOMENTS, c);
  }

  /** {@link #exact_moments(Column)} of the named column. */
  public static Column exact_moments(String column) {
    return exact_moments(functions.col(column));
  }
}
