package io.normstats.sql;

import static io.normstats.sql.ExactFunctions.exact_mean;
import static io.normstats.sql.ExactFunctions.exact_moments;
import static io.normstats.sql.ExactFunctions.exact_stddev_pop;
import static io.normstats.sql.ExactFunctions.exact_stddev_samp;
import static io.normstats.sql.ExactFunctions.exact_var_pop;
import static io.normstats.sql.ExactFunctions.exact_var_samp;
import static io.normstats.testing.ExactOracle.assertMoments;
import static org.apache.spark.sql.functions.col;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.normstats.exact.FeatureMoments;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The exact aggregate functions per group against the BigDecimal oracle, with 1 and 13
 * partitions giving the same bits, from the DataFrame API and from SQL through the extension.
 */
class ExactFunctionsTest {
  private static SparkSession spark;
  /** group -> its double values (null for a NULL row). */
  private static final Map<String, List<Double>> GROUPS = new LinkedHashMap<>();
  private static Dataset<Row> table;

  @BeforeAll
  static void start() {
    spark = SparkSession.builder().master("local[2]").appName("ExactFunctionsTest")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "5")
        .config("spark.sql.extensions", NormstatsExtensions.class.getName())
        .getOrCreate();
    SplittableRandom r = new SplittableRandom(16);
    List<Double> offset = new ArrayList<>();
    List<Double> bigInts = new ArrayList<>();
    List<Double> huge = new ArrayList<>();
    List<Double> subnormal = new ArrayList<>();
    List<Double> withNulls = new ArrayList<>();
    for (int i = 0; i < 400; i++) {
      offset.add(1e9 + r.nextDouble());
      bigInts.add(0x1p50 + r.nextInt(-1000, 1000));
      huge.add(1e160 * (1 + r.nextDouble()));
      subnormal.add(r.nextDouble(-1, 1) * 1e-310);
      withNulls.add(i % 3 == 0 ? null : -1e9 - r.nextDouble());
    }
    GROUPS.put("offset", offset);
    GROUPS.put("bigInts", bigInts);
    GROUPS.put("huge", huge);
    GROUPS.put("subnormal", subnormal);
    GROUPS.put("withNulls", withNulls);
    GROUPS.put("one", List.of(2.5));
    GROUPS.put("nullsOnly", Arrays.asList(null, null));
    GROUPS.put("nan", Arrays.asList(1.0, Double.NaN, 3.0));
    GROUPS.put("infinity", Arrays.asList(1.0, Double.POSITIVE_INFINITY));
    List<Row> rows = new ArrayList<>();
    for (Map.Entry<String, List<Double>> g : GROUPS.entrySet()) {
      for (Double x : g.getValue()) {
        rows.add(RowFactory.create(g.getKey(), x));
      }
    }
    java.util.Collections.shuffle(rows, new java.util.Random(3));
    table = spark.createDataFrame(rows, new StructType().add("g", DataTypes.StringType)
        .add("x", DataTypes.DoubleType, true));
  }

  @AfterAll
  static void stop() {
    spark.stop();
  }

  private static Map<String, Row> perGroup(Dataset<Row> df) {
    Map<String, Row> out = new LinkedHashMap<>();
    for (Row r : df.groupBy("g").agg(exact_mean(col("x")), exact_var_pop(col("x")),
        exact_var_samp(col("x")), exact_stddev_pop(col("x")), exact_stddev_samp(col("x")),
        exact_moments(col("x"))).collectAsList()) {
      out.put(r.getString(0), r);
    }
    return out;
  }

  private static double[] finite(List<Double> values) {
    return values.stream().filter(v -> v != null).mapToDouble(Double::doubleValue).toArray();
  }

  @Test
  void everyFunctionPerGroupIsCorrectlyRoundedAndPartitionInvariant() {
    Map<String, Row> one = perGroup(table.repartition(1));
    Map<String, Row> thirteen = perGroup(table.repartition(13));
    assertEquals(GROUPS.keySet(), one.keySet());
    for (String g : GROUPS.keySet()) {
      Row a = one.get(g);
      Row b = thirteen.get(g);
      assertEquals(a.toString(), b.toString(), g + ": 1 and 13 partitions");
      for (int i = 1; i <= 5; i++) {
        assertEquals(a.get(i), b.get(i), g + " column " + i);
      }
    }
    for (String g : List.of("offset", "bigInts", "huge", "subnormal", "withNulls", "one")) {
      Row r = one.get(g);
      Row m = r.getStruct(6);
      double[] values = finite(GROUPS.get(g));
      long nulls = GROUPS.get(g).stream().filter(v -> v == null).count();
      FeatureMoments fm = new FeatureMoments(m.getLong(0), m.getDouble(1), m.getDouble(2),
          m.isNullAt(3) ? Double.NaN : m.getDouble(3), m.getDouble(4),
          m.isNullAt(5) ? Double.NaN : m.getDouble(5), m.getDouble(6), m.getDouble(7),
          m.getLong(8), m.getLong(9));
      assertMoments(values, fm, g);
      assertEquals(nulls, m.getLong(8), g + ": null_count");
      assertEquals(m.get(1), r.get(1), g + ": exact_mean = exact_moments.mean");
      assertEquals(m.get(2), r.get(2), g + ": exact_var_pop");
      assertEquals(m.get(3), r.get(3), g + ": exact_var_samp");
      assertEquals(m.get(4), r.get(4), g + ": exact_stddev_pop");
      assertEquals(m.get(5), r.get(5), g + ": exact_stddev_samp");
    }
    assertNull(one.get("one").get(3), "var_samp of one value is NULL");
    Row nulls = one.get("nullsOnly");
    for (int i = 1; i <= 5; i++) {
      assertNull(nulls.get(i), "no value: NULL");
    }
    assertEquals(0, nulls.getStruct(6).getLong(0));
    assertEquals(2, nulls.getStruct(6).getLong(8));
    // zero rows: NULL, as avg and var_pop
    Row none = table.filter("g = 'no such group'").agg(exact_mean(col("x")), exact_var_pop(col("x")),
        exact_moments(col("x"))).first();
    assertNull(none.get(0));
    assertNull(none.get(1));
    assertEquals(0, none.getStruct(2).getLong(0));
    for (String g : List.of("nan", "infinity")) {
      Row r = one.get(g);
      assertTrue(Double.isNaN(r.getDouble(1)) && Double.isNaN(r.getDouble(2)), g + ": NaN");
      assertEquals(1, r.getStruct(6).getLong(9), g + ": nan_count");
    }
  }

  @Test
  void theyMatchSparksOwnWhereSparkIsExactAndBeatItWhereNot() {
    // small integers: Spark's avg and var_pop are exact too
    Dataset<Row> ints = spark.range(0, 1000).selectExpr("id % 7 AS g", "id * 3 AS x");
    List<Row> ours = ints.groupBy("g").agg(exact_mean(col("x")), exact_var_pop(col("x")))
        .orderBy("g").collectAsList();
    List<Row> theirs = ints.groupBy("g").agg(org.apache.spark.sql.functions.avg("x"),
        org.apache.spark.sql.functions.var_pop("x")).orderBy("g").collectAsList();
    assertEquals(theirs, ours);
    // 2^50 + integers: Spark's var_pop is off, ours is the exact value rounded once
    Dataset<Row> big = spark.range(0, 2000).selectExpr("cast(1125899906842624 + (id % 2000) - 1000"
        + " as double) AS x").repartition(8);
    double ourVar = big.agg(exact_var_pop(col("x"))).first().getDouble(0);
    BigDecimal sum = BigDecimal.ZERO;
    BigDecimal squares = BigDecimal.ZERO;
    for (long i = 0; i < 2000; i++) {
      BigDecimal v = BigDecimal.valueOf(i - 1000);
      sum = sum.add(v);
      squares = squares.add(v.multiply(v));
    }
    BigDecimal n = BigDecimal.valueOf(2000);
    double exact = squares.multiply(n).subtract(sum.multiply(sum))
        .divide(n.multiply(n), java.math.MathContext.DECIMAL128).doubleValue();
    assertEquals(exact, ourVar, 0.0);
  }

  @Test
  void sqlThroughTheExtension() {
    table.createOrReplaceTempView("t");
    Map<String, Row> api = perGroup(table);
    List<Row> sql = spark.sql("SELECT g, exact_mean(x), exact_var_pop(x), exact_var_samp(x), "
        + "exact_stddev_pop(x), exact_stddev_samp(x), exact_moments(x) FROM t GROUP BY g")
        .collectAsList();
    assertEquals(GROUPS.size(), sql.size());
    for (Row r : sql) {
      assertEquals(api.get(r.getString(0)).toString(), r.toString(), r.getString(0));
    }
    // integer, long and decimal inputs are cast to double
    Row typed = spark.sql("SELECT exact_mean(CAST(x AS INT)), exact_mean(CAST(x AS BIGINT)), "
        + "exact_var_pop(CAST(x AS DECIMAL(10, 2))), exact_moments(CAST(x AS FLOAT)).count "
        + "FROM VALUES (1.5), (2.5), (4.0) AS v(x)").first();
    assertEquals((1 + 2 + 4) / 3.0, typed.getDouble(0), 0.0);
    assertEquals((1 + 2 + 4) / 3.0, typed.getDouble(1), 0.0);
    assertEquals(19.0 / 18, typed.getDouble(2), 0.0); // var_pop of 1.5, 2.5, 4 is 19/18
    assertEquals(3, typed.getLong(3));
    Exception e = assertThrows(Exception.class,
        () -> spark.sql("SELECT exact_mean(x, x) FROM t").collect());
    assertTrue(String.valueOf(e.getMessage()).contains("exact_mean takes one argument"),
        e.getMessage());
  }

  private static FeatureMoments featureMoments(Row m) {
    return new FeatureMoments(m.getLong(0), m.getDouble(1), m.getDouble(2),
        m.isNullAt(3) ? Double.NaN : m.getDouble(3), m.getDouble(4),
        m.isNullAt(5) ? Double.NaN : m.getDouble(5), m.getDouble(6), m.getDouble(7),
        m.getLong(8), m.getLong(9));
  }

  @Test
  void exactMomentsOfVectorAndArrayColumnsPerElement() {
    // per group: 3-element rows as dense vectors, sparse vectors, arrays of doubles with NULL
    // elements, arrays of ints; NULL rows count as a null for every element
    SplittableRandom r = new SplittableRandom(61);
    Map<String, List<double[]>> groups = new LinkedHashMap<>();
    List<Row> rows = new ArrayList<>();
    for (String g : List.of("a", "b")) {
      List<double[]> values = new ArrayList<>();
      for (int i = 0; i < 150; i++) {
        double[] v = {1e9 + r.nextDouble(), i % 4 == 0 ? 0.0 : 0x1p50 + r.nextInt(-99, 99),
            r.nextDouble(-1, 1) * 1e-310};
        values.add(v);
        org.apache.spark.ml.linalg.Vector vector = i % 2 == 0
            ? org.apache.spark.ml.linalg.Vectors.dense(v)
            : org.apache.spark.ml.linalg.Vectors.dense(v).compressed();
        Double[] boxed = {v[0], i % 5 == 0 ? null : v[1], v[2]};
        rows.add(RowFactory.create(g, vector, Arrays.asList(boxed),
            Arrays.asList(i, -i, i % 7)));
      }
      rows.add(RowFactory.create(g, null, null, null));
      groups.put(g, values);
    }
    java.util.Collections.shuffle(rows, new java.util.Random(5));
    Dataset<Row> df = spark.createDataFrame(rows, new StructType().add("g", DataTypes.StringType)
        .add("v", new org.apache.spark.ml.linalg.VectorUDT(), true)
        .add("a", DataTypes.createArrayType(DataTypes.DoubleType, true), true)
        .add("i", DataTypes.createArrayType(DataTypes.IntegerType, false), true));
    Map<String, Row> one = new LinkedHashMap<>();
    Map<String, Row> thirteen = new LinkedHashMap<>();
    for (Row x : df.repartition(1).groupBy("g").agg(exact_moments("v"), exact_moments("a"),
        exact_moments("i")).collectAsList()) {
      one.put(x.getString(0), x);
    }
    for (Row x : df.repartition(13).groupBy("g").agg(exact_moments("v"), exact_moments("a"),
        exact_moments("i")).collectAsList()) {
      thirteen.put(x.getString(0), x);
    }
    for (String g : groups.keySet()) {
      Row x = one.get(g);
      assertEquals(x.toString(), thirteen.get(g).toString(), g + ": 1 and 13 partitions");
      List<Row> vector = x.getList(1);
      List<Row> array = x.getList(2);
      List<Row> ints = x.getList(3);
      assertEquals(3, vector.size());
      for (int j = 0; j < 3; j++) {
        final int e = j;
        double[] values = groups.get(g).stream().mapToDouble(v -> v[e]).toArray();
        assertMoments(values, featureMoments(vector.get(j)), g + " vector element " + j);
        assertEquals(1, vector.get(j).getLong(8), "the NULL vector is a null per element");
        double[] present = new double[0];
        List<Double> kept = new ArrayList<>();
        for (int i = 0; i < values.length; i++) {
          if (!(j == 1 && i % 5 == 0)) {
            kept.add(values[i]);
          }
        }
        present = kept.stream().mapToDouble(Double::doubleValue).toArray();
        assertMoments(present, featureMoments(array.get(j)), g + " array element " + j);
        assertEquals(1 + values.length - present.length, array.get(j).getLong(8),
            g + " array element " + j + ": NULL row and NULL elements");
      }
      double[] second = new double[150];
      for (int i = 0; i < 150; i++) {
        second[i] = -i;
      }
      assertMoments(second, featureMoments(ints.get(1)), g + " int array element 1");
    }
    // a group without a non-NULL row gives NULL
    assertNull(df.filter("v IS NULL").agg(exact_moments("v")).first().get(0));
    // rows of different lengths in one group
    Dataset<Row> ragged = spark.sql("SELECT * FROM VALUES (array(1.0, 2.0)), (array(3.0)) AS t(a)");
    Exception e = assertThrows(Exception.class,
        () -> ragged.agg(exact_moments("a")).collect());
    assertTrue(String.valueOf(rootMessage(e)).contains("rows of 2 and 1 values in one group"),
        rootMessage(e));
  }

  private static String rootMessage(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null) {
      t = t.getCause();
    }
    return t.getMessage();
  }

  @Test
  void otherTypesAreRefusedWithTheFunctionsName() {
    Dataset<Row> df = spark.sql("SELECT 'x' AS s, array(1.0D) AS a");
    Exception s = assertThrows(Exception.class, () -> df.agg(exact_mean(col("s"))).collect());
    assertTrue(s.getMessage().contains("exact_mean takes a numeric column, not string"),
        s.getMessage());
    Exception a = assertThrows(Exception.class, () -> df.agg(exact_var_pop(col("a"))).collect());
    assertTrue(a.getMessage().contains("use exact_moments for vector and array columns"),
        a.getMessage());
  }

  @Test
  void functionsOfOneColumnShareOneStateAndGiveTheSameBits() {
    Dataset<Row> both = table.groupBy("g").agg(exact_mean(col("x")), exact_var_pop(col("x")),
        exact_stddev_samp(col("x")), exact_mean(col("x").multiply(2)));
    // x's three functions share one state; 2x is another column with its own
    String plan = both.queryExecution().executedPlan().toString();
    java.util.regex.Matcher functions =
        java.util.regex.Pattern.compile("functions=\\[([^\\]]*)\\]").matcher(plan);
    assertTrue(functions.find(), plan);
    String final0 = functions.group(1);
    assertEquals(1, final0.split("exact_moments\\(x#", -1).length - 1, plan);
    assertEquals(1, final0.split("exact_mean\\(\\(x#", -1).length - 1, plan);
    assertEquals(2, final0.split("exact_", -1).length - 1, plan);
    Map<String, Row> alone = new LinkedHashMap<>();
    for (Row r : table.groupBy("g").agg(exact_mean(col("x"))).collectAsList()) {
      alone.put(r.getString(0), r);
    }
    Map<String, Row> varAlone = new LinkedHashMap<>();
    for (Row r : table.groupBy("g").agg(exact_var_pop(col("x"))).collectAsList()) {
      varAlone.put(r.getString(0), r);
    }
    Map<String, Row> sdAlone = new LinkedHashMap<>();
    for (Row r : table.groupBy("g").agg(exact_stddev_samp(col("x"))).collectAsList()) {
      sdAlone.put(r.getString(0), r);
    }
    for (Row r : both.collectAsList()) {
      String g = r.getString(0);
      assertEquals(alone.get(g).get(1), r.get(1), g + ": mean");
      assertEquals(varAlone.get(g).get(1), r.get(2), g + ": var_pop");
      assertEquals(sdAlone.get(g).get(1), r.get(3), g + ": stddev_samp");
    }
    assertEquals(List.of("g", "exact_mean(x)", "exact_var_pop(x)", "exact_stddev_samp(x)",
        "exact_mean((x * 2))"), Arrays.asList(both.columns()));
  }
}
