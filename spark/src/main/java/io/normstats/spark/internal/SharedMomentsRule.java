package io.normstats.spark.internal;

import io.normstats.spark.internal.ExactAggregate.Statistic;
import io.normstats.sql.ExactFunctions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.expressions.Expression;
import org.apache.spark.sql.catalyst.expressions.GetStructField;
import org.apache.spark.sql.catalyst.expressions.NamedExpression;
import org.apache.spark.sql.catalyst.expressions.aggregate.AggregateExpression;
import org.apache.spark.sql.catalyst.plans.logical.Aggregate;
import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan;
import org.apache.spark.sql.catalyst.rules.Rule;
import scala.Option;
import scala.jdk.javaapi.CollectionConverters;

/**
 * An optimizer rule that lets several exact aggregate functions of one numeric column in one
 * aggregation share one state: {@code exact_mean(x), exact_var_pop(x)} become two fields of one
 * {@link ExactAggregate} of {@link Statistic#MOMENTS} that computes just those fields, so each
 * group keeps, serializes and merges one {@link io.normstats.exact.ScalarMoments} for {@code x}
 * instead of one per function. The results are the same values (each function is a field of the
 * same exact state); only the work changes.
 *
 * <p>{@link io.normstats.sql.NormstatsExtensions} injects it into every session;
 * {@link io.normstats.sql.ExactFunctions#register} adds it to one session's {@code experimental().extraOptimizations()}.
 */
public final class SharedMomentsRule extends Rule<LogicalPlan> {
  private static final long serialVersionUID = 1L;

  /** Adds the rule to {@code session}'s extra optimizations, once. */
  public static synchronized void register(SparkSession session) {
    scala.collection.immutable.Seq<Rule<LogicalPlan>> rules =
        session.experimental().extraOptimizations();
    for (Rule<LogicalPlan> r : CollectionConverters.asJava(rules)) {
      if (r instanceof SharedMomentsRule) {
        return;
      }
    }
    List<Rule<LogicalPlan>> more = new ArrayList<>(CollectionConverters.asJava(rules));
    more.add(new SharedMomentsRule());
    session.experimental().extraOptimizations_$eq(CollectionConverters.asScala(more).toList());
  }

  @Override
  public LogicalPlan apply(LogicalPlan plan) {
    LogicalPlan mapped = plan.mapChildren(this::apply);
    if (!(mapped instanceof Aggregate agg)) {
      return mapped;
    }
    // the statistics each numeric column is asked for (bit i: field i of MOMENTS_TYPE)
    Map<Expression, Integer> wanted = new HashMap<>();
    Map<Expression, Integer> functions = new HashMap<>();
    for (NamedExpression e : CollectionConverters.asJava(agg.aggregateExpressions())) {
      collect((Expression) (Object) e, wanted, functions);
    }
    Map<Expression, AggregateExpression> shared = new HashMap<>();
    for (Map.Entry<Expression, Integer> w : wanted.entrySet()) {
      if (Integer.bitCount(functions.get(w.getKey())) > 1) {
        shared.put(w.getKey(), null);
      }
    }
    if (shared.isEmpty()) {
      return mapped;
    }
    List<NamedExpression> rewritten = new ArrayList<>();
    for (NamedExpression e : CollectionConverters.asJava(agg.aggregateExpressions())) {
      rewritten.add((NamedExpression) (Object) rewrite((Expression) (Object) e, wanted, shared));
    }
    return agg.copy(agg.groupingExpressions(), CollectionConverters.asScala(rewritten).toList(),
        agg.child(), agg.hint());
  }

  /** The exact function a (non-distinct, unfiltered) aggregate expression applies, or null. */
  private static ExactAggregate sharable(Expression e) {
    if (e instanceof AggregateExpression ae && !ae.isDistinct() && ae.filter().isEmpty()
        && ae.aggregateFunction() instanceof ExactAggregate f
        && f.statistic() != Statistic.STATE && f.child().resolved() && !f.overArrays()) {
      return f;
    }
    return null;
  }

  private static void collect(Expression e, Map<Expression, Integer> wanted,
      Map<Expression, Integer> functions) {
    ExactAggregate f = sharable(e);
    if (f != null) {
      Expression key = f.child().canonicalized();
      int fields = f.statistic() == Statistic.MOMENTS ? ExactAggregate.ALL_STATISTICS
          : 1 << (f.statistic().ordinal() + 1);
      wanted.merge(key, fields, (a, b) -> a | b);
      functions.merge(key, 1 << f.statistic().ordinal(), (a, b) -> a | b);
      return;
    }
    for (Expression c : CollectionConverters.asJava(e.children())) {
      collect(c, wanted, functions);
    }
  }

  private static Expression rewrite(Expression e, Map<Expression, Integer> wanted,
      Map<Expression, AggregateExpression> shared) {
    ExactAggregate f = sharable(e);
    if (f != null) {
      Expression key = f.child().canonicalized();
      if (!shared.containsKey(key)) {
        return e;
      }
      AggregateExpression moments = shared.get(key);
      if (moments == null) {
        moments = new ExactAggregate(f.child(), Statistic.MOMENTS, wanted.get(key), 0, 0)
            .toAggregateExpression();
        shared.put(key, moments);
      }
      if (f.statistic() == Statistic.MOMENTS) {
        return moments;
      }
      int field = f.statistic().ordinal() + 1;
      return new GetStructField(moments, field,
          Option.apply(ExactFunctions.MOMENTS_TYPE.fields()[field].name()));
    }
    return e.mapChildren(c -> rewrite(c, wanted, shared));
  }
}
