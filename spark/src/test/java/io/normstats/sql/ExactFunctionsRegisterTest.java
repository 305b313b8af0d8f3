package io.normstats.sql;

import static io.normstats.sql.ExactFunctions.exact_mean;
import static io.normstats.sql.ExactFunctions.exact_var_pop;
import static org.apache.spark.sql.functions.col;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.normstats.spark.internal.SharedMomentsRule;
import io.normstats.testing.TestSpark;
import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import scala.jdk.javaapi.CollectionConverters;

/**
 * In a session without {@link NormstatsExtensions}, building and running the exact functions
 * changes nothing in the session; {@link ExactFunctions#register} adds the state-sharing rule, once,
 * and the results keep their bits.
 */
class ExactFunctionsRegisterTest {
  private static SparkSession spark;

  @BeforeAll
  static void start() {
    spark = TestSpark.session("ExactFunctionsRegisterTest");
  }

  @AfterAll
  static void stop() {
    spark.stop();
  }

  private static long sharingRules() {
    return CollectionConverters.asJava(spark.experimental().extraOptimizations()).stream()
        .filter(r -> r instanceof SharedMomentsRule).count();
  }

  private static Dataset<Row> meanAndVariance() {
    return spark.range(1000).selectExpr("id % 3 AS g", "CAST(id AS DOUBLE) * 0.1 + 1e9 AS x")
        .groupBy("g").agg(exact_mean(col("x")), exact_var_pop(col("x"))).orderBy("g");
  }

  /** The functions of the plan's final aggregation, as Spark prints them. */
  private static String functions(Dataset<Row> df) {
    String plan = df.queryExecution().executedPlan().toString();
    java.util.regex.Matcher m =
        java.util.regex.Pattern.compile("functions=\\[([^\\]]*)\\]").matcher(plan);
    assertTrue(m.find(), plan);
    return m.group(1);
  }

  @Test
  void usingTheFunctionsChangesNoSessionAndRegisterAddsTheRuleOnce() {
    assertFalse(spark.conf().contains("spark.sql.extensions"));
    Dataset<Row> apart = meanAndVariance();
    String plan = functions(apart);
    List<Row> rows = apart.collectAsList();
    assertEquals(0, sharingRules(), "building and running the functions added no rule");
    assertTrue(plan.contains("exact_mean(") && plan.contains("exact_var_pop("), plan);

    ExactFunctions.register(spark);
    ExactFunctions.register(spark);
    assertEquals(1, sharingRules());
    Dataset<Row> shared = meanAndVariance();
    String sharedPlan = functions(shared);
    assertTrue(sharedPlan.contains("exact_moments(x"), sharedPlan);
    assertFalse(sharedPlan.contains("exact_var_pop(x"), sharedPlan);
    assertEquals(rows, shared.collectAsList(), "the same bits with one shared state");
  }
}
