package io.normstats.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.normstats.InputException;
import io.normstats.exact.MomentAccumulator;
import io.normstats.testing.ExactOracle;
import io.normstats.testing.TestSpark;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.apache.spark.ml.linalg.VectorUDT;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.GenericInternalRow;
import org.apache.spark.sql.catalyst.expressions.UnsafeArrayData;
import org.apache.spark.sql.catalyst.util.GenericArrayData;
import org.apache.spark.sql.execution.vectorized.OnHeapColumnVector;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.sql.vectorized.ColumnVector;
import org.apache.spark.sql.vectorized.ColumnarBatch;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@link RowFolding} on hand-built internal rows and columnar batches, of every kind the engine
 * reads (dense and sparse VectorUDT structs, Spark's unsafe and generic arrays, nulls, numeric
 * columns of several types): each feature's statistics are the nearest doubles to the exact values
 * of the densified rows (a BigDecimal oracle), and the dense and the value-by-value roads give the
 * same state bits.
 */
class RowFoldingTest {
  static SparkSession spark;

  @BeforeAll
  static void start() {
    spark = TestSpark.session("RowFoldingTest");
  }

  @AfterAll
  static void stop() {
    spark.stop();
  }

  private static FeatureSelection selection(StructType schema, List<String> features,
      String vector) {
    Dataset<Row> empty = spark.createDataFrame(new ArrayList<Row>(), schema);
    return FeatureSelection.resolveDeferred(empty, features, vector);
  }

  /** A VectorUDT struct: type (1 dense, 0 sparse), size, indices, values. */
  private static InternalRow dense(double[] v, boolean unsafe) {
    Object values = unsafe ? UnsafeArrayData.fromPrimitiveArray(v) : new GenericArrayData(box(v));
    return new GenericInternalRow(new Object[] {
        new GenericInternalRow(new Object[] {(byte) 1, null, null, values})});
  }

  private static InternalRow sparse(int size, int[] indices, double[] values) {
    return new GenericInternalRow(new Object[] {new GenericInternalRow(new Object[] {(byte) 0, size,
        UnsafeArrayData.fromPrimitiveArray(indices), UnsafeArrayData.fromPrimitiveArray(values)})});
  }

  private static Object[] box(double[] v) {
    Object[] o = new Object[v.length];
    for (int i = 0; i < v.length; i++) {
      o[i] = v[i];
    }
    return o;
  }

  private static double[] column(List<double[]> rows, int j) {
    return rows.stream().mapToDouble(r -> r[j]).toArray();
  }

  @Test
  void vectorRowsDenseSparseAndNullAreTheExactStatisticsOfTheDensifiedRows() {
    int d = 5;
    FeatureSelection s = selection(new StructType().add("v", new VectorUDT()), null, "v")
        .withLength(d);
    RowFolding folding = new RowFolding(s);
    SplittableRandom random = new SplittableRandom(7);
    List<double[]> rows = new ArrayList<>();
    for (int i = 0; i < 3000; i++) {
      double[] v = new double[d];
      for (int j = 0; j < d; j++) {
        v[j] = 1e9 + random.nextInt(1000) / 8.0; // large offset: naive sums would lose digits
      }
      if (i % 7 == 3) { // sparse: two non-zeros, the rest zeros
        double[] densified = new double[d];
        densified[1] = v[1];
        densified[4] = v[4];
        folding.add(sparse(d, new int[] {1, 4}, new double[] {v[1], v[4]}));
        rows.add(densified);
      } else {
        folding.add(dense(v, i % 2 == 0));
        rows.add(v);
      }
    }
    folding.add(new GenericInternalRow(new Object[] {null})); // a null vector: a null per feature
    MomentAccumulator acc = folding.accumulator();
    for (int j = 0; j < d; j++) {
      ExactOracle.assertMoments(column(rows, j), acc.moments(j), "v[" + j + "]");
      assertEquals(1, acc.nullCount(j), "v[" + j + "] null count");
    }
  }

  @Test
  void aVectorOfAnotherLengthIsADataErrorNamingBothLengths() {
    FeatureSelection s = selection(new StructType().add("v", new VectorUDT()), null, "v")
        .withLength(3);
    RowFolding folding = new RowFolding(s);
    InputException e = assertThrows(InputException.class,
        () -> folding.add(dense(new double[] {1, 2}, true)));
    assertEquals(InputException.DATA, e.exitCode(), e.getMessage());
  }

  @Test
  void arrayRowsWithANullElementCountItAndKeepTheOtherValues() {
    FeatureSelection s = selection(new StructType().add("a",
        DataTypes.createArrayType(DataTypes.DoubleType)), null, "a").withLength(3);
    RowFolding folding = new RowFolding(s);
    folding.add(new GenericInternalRow(new Object[] {
        UnsafeArrayData.fromPrimitiveArray(new double[] {0.1, 0.2, 0.3})}));
    folding.add(new GenericInternalRow(new Object[] {
        new GenericArrayData(new Object[] {0.7, null, 1e300})}));
    folding.add(new GenericInternalRow(new Object[] {
        new GenericArrayData(new Object[] {-5.0, 2.5, 3.0})}));
    MomentAccumulator acc = folding.accumulator();
    ExactOracle.assertMoments(new double[] {0.1, 0.7, -5.0}, acc.moments(0), "a[0]");
    ExactOracle.assertMoments(new double[] {0.2, 2.5}, acc.moments(1), "a[1]");
    ExactOracle.assertMoments(new double[] {0.3, 1e300, 3.0}, acc.moments(2), "a[2]");
    assertEquals(0, acc.nullCount(0));
    assertEquals(1, acc.nullCount(1));
  }

  @Test
  void batchesOfEveryNumericTypeGiveTheBitsOfTheSameRowsFoldedOneByOne() {
    DataType[] types = {DataTypes.DoubleType, DataTypes.FloatType, DataTypes.IntegerType,
        DataTypes.LongType, DataTypes.ShortType, DataTypes.createDecimalType(20, 3)};
    StructType schema = new StructType();
    List<String> names = new ArrayList<>();
    for (int j = 0; j < types.length; j++) {
      schema = schema.add("c" + j, types[j]);
      names.add("c" + j);
    }
    FeatureSelection s = selection(schema, names, null);
    int n = 2500;
    SplittableRandom random = new SplittableRandom(11);
    double[][] values = new double[types.length][n];
    OnHeapColumnVector[] columns = new OnHeapColumnVector[types.length];
    for (int j = 0; j < types.length; j++) {
      columns[j] = new OnHeapColumnVector(n, types[j]);
    }
    for (int i = 0; i < n; i++) {
      long k = random.nextLong(-1_000_000_000L, 1_000_000_000L);
      columns[0].putDouble(i, values[0][i] = 3e15 + k * 0.5);
      columns[1].putFloat(i, (float) (values[1][i] = (float) (k * 1e-3)));
      columns[2].putInt(i, (int) (values[2][i] = (int) k));
      columns[3].putLong(i, (long) (values[3][i] = (1L << 53) + k));
      columns[4].putShort(i, (short) (values[4][i] = (short) k));
      java.math.BigDecimal dec = java.math.BigDecimal.valueOf(k, 3);
      values[5][i] = dec.doubleValue();
      columns[5].putDecimal(i, org.apache.spark.sql.types.Decimal.apply(dec), 20);
    }
    ColumnarBatch batch = new ColumnarBatch(columns, n);
    int[] order = {0, 1, 2, 3, 4, 5};

    RowFolding batched = new RowFolding(s);
    batched.addBatch(batch, order, types);
    RowFolding byRow = new RowFolding(s);
    for (int i = 0; i < n; i++) {
      Object[] row = new Object[types.length];
      for (int j = 0; j < types.length; j++) {
        row[j] = values[j][i];
      }
      byRow.add(new GenericInternalRow(row)); // the projection's doubles
    }
    for (int j = 0; j < types.length; j++) {
      ExactOracle.assertMoments(values[j], batched.accumulator().moments(j), names.get(j));
      assertArrayEquals(byRow.accumulator().state(j).toBytes(),
          batched.accumulator().state(j).toBytes(), names.get(j) + ": batch and row states");
    }

    // a null in one column sends the batch down the value-by-value road: the other rows the same
    columns[2].putNull(17);
    RowFolding withNull = new RowFolding(s);
    withNull.addBatch(batch, order, types);
    assertEquals(1, withNull.accumulator().nullCount(2));
    double[] without = new double[n - 1];
    for (int i = 0, k = 0; i < n; i++) {
      if (i != 17) {
        without[k++] = values[2][i];
      }
    }
    ExactOracle.assertMoments(without, withNull.accumulator().moments(2), "c2 with a null");
    assertArrayEquals(batched.accumulator().state(0).toBytes(),
        withNull.accumulator().state(0).toBytes(), "c0 unchanged by c2's null");
    for (ColumnVector c : columns) {
      c.close();
    }
  }
}
