package io.normstats.sql;

import io.normstats.spark.internal.ExactAggregate;
import io.normstats.spark.internal.ExactAggregate.Statistic;
import io.normstats.spark.internal.SharedMomentsRule;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.StructType;

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
 * <p>Semantics as Spark's own: the input column (double, float, byte, short, integer, long or
 * decimal; each value converted to the nearest double, which is exact up to 2^53 for longs) has
 * its NULLs ignored; a group without a non-null value gives NULL, as does var_samp of one value; a
 * NaN or an infinity makes the mean and the variances NaN. {@link #exact_moments(Column)} also
 * takes a Vector or numeric array column and returns one struct per element. Per group and column
 * the aggregation state is a {@link io.normstats.exact.ScalarMoments}, serialized directly: 54
 * to 62 bytes in the shuffle for a group of 3 values near 1e9. The functions are one Catalyst
 * aggregate expression, {@code ExactAggregate}. Building a Column changes no session: functions of
 * one column in one aggregation share one state (one {@code ScalarMoments} per group instead of one
 * per function; the same bits) only in a session that has {@code SharedMomentsRule}, from
 * {@link NormstatsExtensions} or {@link #register}.
 *
 * @throws org.apache.spark.sql.AnalysisException (when the query is analyzed) for a column of
 *     another type
 */
public final class ExactFunctions {
  /**
   * The struct {@code exact_moments} returns: count (non-null values), mean, var_pop, var_samp,
   * std_pop, std_samp, min, max (null without a value; var_samp and std_samp null for one value;
   * NaN with a NaN or infinite value, min and max aside), null_count, nan_count (NaN and infinite
   * values). Over a vector or array column, an array of these, one per element.
   */
  public static final StructType MOMENTS_TYPE = new StructType(java.util.Arrays.copyOfRange(
      ExactStats.SCHEMA.fields(), 2, 12)); // all but name, index

  private ExactFunctions() {}

  /**
   * Lets the exact functions of one column in one aggregation share one state in {@code session}:
   * adds {@code SharedMomentsRule} to its {@code experimental().extraOptimizations()}, once (what
   * {@code spark.sql.extensions=io.normstats.sql.NormstatsExtensions} does for every session).
   * Results are the same bits with or without it; only the shuffle and the work shrink. The one
   * call of normstats that changes a session, and only when asked.
   */
  public static void register(org.apache.spark.sql.SparkSession session) {
    SharedMomentsRule.register(session);
  }

  private static Column apply(Statistic s, Column c) {
    return ExactAggregate.column(c, s);
  }

  /**
   * Each group's mergeable state (a numeric column's is {@link
   * io.normstats.exact.ScalarMoments#toBytes()}).
   */
  static Column exact_state(Column c) {
    return apply(Statistic.STATE, c);
  }

  /** The correctly rounded mean of the column's non-null values (a double; NULL for none). */
  public static Column exact_mean(Column c) {
    return apply(Statistic.MEAN, c);
  }

  /** {@link #exact_mean(Column)} of the named column. */
  public static Column exact_mean(String column) {
    return exact_mean(functions.col(column));
  }

  /** The correctly rounded population variance (/n) of the non-null values; NULL for none. */
  public static Column exact_var_pop(Column c) {
    return apply(Statistic.VAR_POP, c);
  }

  /** {@link #exact_var_pop(Column)} of the named column. */
  public static Column exact_var_pop(String column) {
    return exact_var_pop(functions.col(column));
  }

  /** The correctly rounded sample variance (/(n-1)); NULL for fewer than two values. */
  public static Column exact_var_samp(Column c) {
    return apply(Statistic.VAR_SAMP, c);
  }

  /** {@link #exact_var_samp(Column)} of the named column. */
  public static Column exact_var_samp(String column) {
    return exact_var_samp(functions.col(column));
  }

  /** The correctly rounded square root of the exact population variance; NULL for none. */
  public static Column exact_stddev_pop(Column c) {
    return apply(Statistic.STDDEV_POP, c);
  }

  /** {@link #exact_stddev_pop(Column)} of the named column. */
  public static Column exact_stddev_pop(String column) {
    return exact_stddev_pop(functions.col(column));
  }

  /** The correctly rounded square root of the exact sample variance; NULL for fewer than two. */
  public static Column exact_stddev_samp(Column c) {
    return apply(Statistic.STDDEV_SAMP, c);
  }

  /** {@link #exact_stddev_samp(Column)} of the named column. */
  public static Column exact_stddev_samp(String column) {
    return exact_stddev_samp(functions.col(column));
  }

  /**
   * Every statistic at once, as a struct ({@link #MOMENTS_TYPE}): count, mean,
   * var_pop, var_samp, std_pop, std_samp, min, max, null_count, nan_count. Over a Vector column
   * or an array of numbers: an array of such structs, element i summarizing the i-th values
   * (every non-NULL row of a group the same length, else the query fails with an
   * IllegalArgumentException naming both lengths; a NULL row counts as a null for every element;
   * NULL for a group without a non-NULL row).
   */
  public static Column exact_moments(Column c) {
    return apply(Statistic.MOMENTS, c);
  }

  /** {@link #exact_moments(Column)} of the named column. */
  public static Column exact_moments(String column) {
    return exact_moments(functions.col(column));
  }
}
