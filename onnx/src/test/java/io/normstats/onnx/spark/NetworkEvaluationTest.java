package io.normstats.onnx.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.normstats.InputException;
import io.normstats.onnx.EvaluationResult;
import io.normstats.onnx.OnnxModel;
import io.normstats.spark.FeatureSelection;
import io.normstats.spark.input.InputFormat;
import io.normstats.spark.input.Inputs;
import io.normstats.spark.OrderedInput;
import io.normstats.testing.TestSpark;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.apache.spark.ml.linalg.VectorUDT;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link NetworkEvaluation} on two versions of a 3-class network whose outputs are exact in
 * float32 ({@link NetworkTransformTest#gemmRelu}): the rows each version predicts right and the
 * rows whose prediction the second changes are counted by hand (argmax, first on ties), with labels
 * from a column (three files) and by input order (as an IDX label file gives them).
 */
class NetworkEvaluationTest {
  static final double[] SHIFTED = {0.5, -1, 6}; // moves many predictions to class 2
  static SparkSession spark;
  static Map<String, OnnxModel> versions = new LinkedHashMap<>();
  static List<double[]> xs = NetworkTransformTest.inputs(157);
  static int[] labels = new int[xs.size()];

  @BeforeAll
  static void start() {
    spark = TestSpark.session("NetworkEvaluationTest");
    versions.put("stored", NetworkTransformTest.gemmRelu(NetworkTransformTest.B));
    versions.put("shifted", NetworkTransformTest.gemmRelu(SHIFTED));
    SplittableRandom r = new SplittableRandom(5);
    for (int i = 0; i < labels.length; i++) {
      labels[i] = r.nextInt(3);
    }
  }

  @AfterAll
  static void stop() {
    spark.stop();
  }

  private static int argmax(double[] y) {
    int best = 0;
    for (int j = 1; j < y.length; j++) {
      if (y[j] > y[best]) {
        best = j;
      }
    }
    return best;
  }

  /** Expected counts: {correct stored, correct shifted, changed shifted}. */
  private static long[] byHand() {
    long[] c = new long[3];
    for (int i = 0; i < xs.size(); i++) {
      int a = argmax(NetworkTransformTest.expected(xs.get(i), NetworkTransformTest.B));
      int b = argmax(NetworkTransformTest.expected(xs.get(i), SHIFTED));
      c[0] += a == labels[i] ? 1 : 0;
      c[1] += b == labels[i] ? 1 : 0;
      c[2] += a != b ? 1 : 0;
    }
    return c;
  }

  private static String write(Path dir, int files) {
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < xs.size(); i++) {
      rows.add(RowFactory.create(Vectors.dense(xs.get(i)), (long) labels[i]));
    }
    StructType schema = new StructType().add("x", new VectorUDT()).add("label", DataTypes.LongType);
    String path = dir.resolve("eval.parquet").toString();
    // one file keeps the rows in input order; several files in any order (labels by column)
    (files == 1 ? spark.createDataFrame(rows, schema).coalesce(1)
        : spark.createDataFrame(rows, schema).repartition(files)).write().parquet(path);
    return path;
  }

  private static EvaluationResult evaluate(String path, NetworkEvaluation.Labels labels,
      int batch) {
    OrderedInput input = Inputs.readOrdered(spark, path, InputFormat.PARQUET);
    FeatureSelection selection = FeatureSelection.resolve(input.data(), null, "x");
    return NetworkEvaluation.evaluate(NetworkEvaluation.prepare(input, selection, labels),
        versions, null, null, batch);
  }

  @Test
  void countsWithALabelColumnAreThoseByHand(@TempDir Path dir) {
    long[] expected = byHand();
    assertTrue(expected[2] > 0 && expected[0] != expected[1], "the versions differ");
    String path = write(dir, 3);
    for (int batch : new int[] {1, 16}) {
      EvaluationResult r = evaluate(path,
          new NetworkEvaluation.Labels(null, "label", "column 'label'"), batch);
      assertEquals(xs.size(), r.rows());
      assertEquals(List.of("stored", "shifted"), r.versions());
      assertArrayEquals(new long[] {expected[0], expected[1]}, r.correct(), "batch " + batch);
      assertArrayEquals(new long[] {0, expected[2]}, r.changed(), "batch " + batch);
      assertEquals((double) expected[1] / xs.size(), r.accuracy(1));
    }
  }

  @Test
  void labelsByInputOrderGiveTheSameCountsAndWithoutLabelsOnlyChanges(@TempDir Path dir) {
    long[] expected = byHand();
    String path = write(dir, 1);
    EvaluationResult r = evaluate(path,
        new NetworkEvaluation.Labels(labels, null, "labels.idx"), 8);
    assertArrayEquals(new long[] {expected[0], expected[1]}, r.correct());
    EvaluationResult none = evaluate(path, null, 8);
    assertNull(none.correct());
    assertTrue(Double.isNaN(none.accuracy(0)));
    assertArrayEquals(new long[] {0, expected[2]}, none.changed());
  }

  @Test
  void aLabelFileOfAnotherLengthIsADataErrorNamingBoth(@TempDir Path dir) {
    String path = write(dir, 1);
    OrderedInput input = Inputs.readOrdered(spark, path, InputFormat.PARQUET);
    FeatureSelection selection = FeatureSelection.resolve(input.data(), null, "x");
    InputException e = assertThrows(InputException.class, () -> NetworkEvaluation.prepare(input,
        selection, new NetworkEvaluation.Labels(new int[5], null, "labels.idx")));
    assertEquals(InputException.DATA, e.exitCode());
    assertEquals("labels.idx has 5 labels, the evaluation input has " + xs.size() + " rows",
        e.getMessage());
  }
}
