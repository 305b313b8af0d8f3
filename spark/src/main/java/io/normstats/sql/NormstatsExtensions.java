package io.normstats.sql;

import io.normstats.sql.ExactAggregate.Statistic;
import org.apache.spark.sql.SparkSessionExtensions;
import org.apache.spark.sql.catalyst.FunctionIdentifier;
import org.apache.spark.sql.catalyst.expressions.Expression;
import org.apache.spark.sql.catalyst.expressions.ExpressionInfo;
import scala.Function1;
import scala.Tuple3;
import scala.collection.immutable.Seq;
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
 */
public final class NormstatsExtensions implements Function1<SparkSessionExtensions, BoxedUnit> {

  @Override
  public BoxedUnit apply(SparkSessionExtensions extensions) {
    for (Statistic s : Statistic.values()) {
      if (s == Statistic.STATE) {
        continue;
      }
      String name = s.sqlName();
      extensions.injectFunction(new Tuple3<>(FunctionIdentifier.apply(name),
          new ExpressionInfo(ExactFunctions.class.getName(), name),
          (Function1<Seq<Expression>, Expression>) children -> build(s, children)));
    }
    extensions.injectOptimizerRule(session -> new SharedMomentsRule());
    return BoxedUnit.UNIT;
  }

  /**
   * The aggregate function {@code s} of its one argument.
   *
   * @throws IllegalArgumentException for another number of arguments
   */
  private static Expression build(Statistic s, Seq<Expression> children) {
    if (children.size() != 1) {
      throw new IllegalArgumentException(s.sqlName() + " takes one argument, not "
          + children.size());
    }
    return new ExactAggregate(children.head(), s);
  }
}
