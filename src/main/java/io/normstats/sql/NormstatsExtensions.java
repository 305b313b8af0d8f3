package io.normstats.sql;

import java.util.List;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.SparkSessionExtensions;
import org.apache.spark.sql.catalyst.FunctionIdentifier;
import org.apache.spark.sql.catalyst.expressions.Cast;
import org.apache.spark.sql.catalyst.expressions.Expression;
import org.apache.spark.sql.catalyst.expressions.ExpressionInfo;
import org.apache.spark.sql.execution.aggregate.ScalaAggregator;
import org.apache.spark.sql.types.DataTypes;
import scala.Function1;
import scala.Option;
import scala.Tuple3;
import scala.collection.immutable.Seq;
import scala.jdk.javaapi.CollectionConverters;
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
    for (ExactAggregator.Statistic s : ExactAggregator.Statistic.values()) {
      if (s == ExactAggregator.Statistic.STATE) {
        continue;
      }
      ExactAggregator<?> agg = s == ExactAggregator.Statistic.MOMENTS ? ExactAggregator.moments()
          : ExactAggregator.of(s);
      String name = agg.sqlName();
      extensions.injectFunction(new Tuple3<>(FunctionIdentifier.apply(name),
          new ExpressionInfo(ExactFunctions.class.getName(), name),
          (Function1<Seq<Expression>, Expression>) children -> build(name, agg, children)));
    }
    return BoxedUnit.UNIT;
  }

  /**
   * The aggregate expression of {@code agg} over its one argument, cast to double.
   *
   * @throws IllegalArgumentException for another number of arguments
   */
  private static <T> Expression build(String name, ExactAggregator<T> agg,
      Seq<Expression> children) {
    if (children.size() != 1) {
      throw new IllegalArgumentException(name + " takes one argument, not " + children.size());
    }
    Expression input = new Cast(children.head(), DataTypes.DoubleType, Option.empty());
    Seq<Expression> args = CollectionConverters.asScala(List.of(input)).toSeq();
    return new ScalaAggregator<>(args, agg,
        org.apache.spark.sql.catalyst.encoders.package$.MODULE$.encoderFor(Encoders.DOUBLE()),
        org.apache.spark.sql.catalyst.encoders.package$.MODULE$.encoderFor(agg.bufferEncoder()),
        true, true, 0, 0, Option.apply(name));
  }
}
