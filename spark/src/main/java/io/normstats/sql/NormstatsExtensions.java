package io.normstats.sql;

import io.normstats.spark.internal.SqlExtensions;
import org.apache.spark.sql.SparkSessionExtensions;
import scala.Function1;
import scala.runtime.BoxedUnit;

/**
 * Registers the exact aggregate functions for SQL: set
 * {@code spark.sql.extensions=io.normstats.sql.NormstatsExtensions} (with the normstats jar on the
 * class path) and every session has {@code exact_mean}, {@code exact_var_pop},
 * {@code exact_var_samp}, {@code exact_stddev_pop}, {@code exact_stddev_samp} and
 * {@code exact_moments}, with the semantics of {@link ExactFunctions}:
 *
 * <pre>
 *   SELECT day, exact_mean(x), exact_var_pop(x), exact_moments(y) FROM t GROUP BY day
 * </pre>
 *
 * <p>It also adds the optimizer rule that lets several functions of one column in one aggregation
 * share one state (the same results, less work).
 */
public final class NormstatsExtensions implements Function1<SparkSessionExtensions, BoxedUnit> {

  @Override
  public BoxedUnit apply(SparkSessionExtensions extensions) {
    SqlExtensions.inject(extensions, ExactFunctions.class);
    return BoxedUnit.UNIT;
  }
}
