package io.normstats.spark.internal;

import io.normstats.spark.internal.ExactAggregate.Statistic;
import org.apache.spark.sql.SparkSessionExtensions;
import org.apache.spark.sql.catalyst.FunctionIdentifier;
import org.apache.spark.sql.catalyst.expressions.Expression;
import org.apache.spark.sql.catalyst.expressions.ExpressionInfo;
import scala.Function1;
import scala.Tuple3;
import scala.collection.immutable.Seq;

/**
 * What {@link io.normstats.sql.NormstatsExtensions} injects into a session, through Spark's
 * {@link SparkSessionExtensions} (whose functions are built from Catalyst expressions): the SQL
 * functions {@code exact_mean}, {@code exact_var_pop}, {@code exact_var_samp},
 * {@code exact_stddev_pop}, {@code exact_stddev_samp} and {@code exact_moments} (each an
 * {@link ExactAggregate} of its one argument), and {@link SharedMomentsRule}.
 */
public final class SqlExtensions {
  private SqlExtensions() {}

  /**
   * Injects the functions and the rule into {@code extensions}.
   *
   * @param documentedBy the class whose javadoc documents the functions (named by
   *     {@code DESCRIBE FUNCTION})
   */
  public static void inject(SparkSessionExtensions extensions, Class<?> documentedBy) {
    for (Statistic s : Statistic.values()) {
      if (s == Statistic.STATE) {
        continue;
      }
      String name = s.sqlName();
      extensions.injectFunction(new Tuple3<>(FunctionIdentifier.apply(name),
          new ExpressionInfo(documentedBy.getName(), name),
          (Function1<Seq<Expression>, Expression>) children -> build(s, children)));
    }
    extensions.injectOptimizerRule(session -> new SharedMomentsRule());
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
