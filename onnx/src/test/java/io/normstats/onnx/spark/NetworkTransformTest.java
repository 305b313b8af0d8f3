package io.normstats.onnx.spark;

import static io.normstats.testing.OnnxGraphs.floats;
import static io.normstats.testing.OnnxGraphs.input;
import static io.normstats.testing.OnnxGraphs.node;
import static io.normstats.testing.OnnxGraphs.tensorType;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.normstats.InputException;
import io.normstats.onnx.OnnxModel;
import io.normstats.onnx.proto.OnnxProto.AttributeProto;
import io.normstats.onnx.proto.OnnxProto.GraphProto;
import io.normstats.onnx.proto.OnnxProto.TensorProto;
import io.normstats.onnx.proto.OnnxProto.ValueInfoProto;
import io.normstats.testing.OnnxGraphs;
import io.normstats.testing.TestSpark;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.VectorUDT;
import org.apache.spark.ml.linalg.Vectors;
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
 * {@link NetworkTransform} on a network whose outputs are exact in float32 (small dyadic weights
 * and integer inputs), so each row's output is checked against a hand computation: y = relu(W x +
 * b), W [3, 2], for Vector and {@code array<float>} columns, whatever the partitioning and the
 * inference batch size; and its errors.
 */
class NetworkTransformTest {
  static final double[][] W = {{1, 2}, {3, -1}, {0.5, 0.25}};
  static final double[] B = {0.5, -1, 2};
  static SparkSession spark;
  static OnnxModel model;

  @BeforeAll
  static void start() {
    spark = TestSpark.session("NetworkTransformTest");
    model = gemmRelu(B);
  }

  /** y = relu(x W^T + bias), x [N, 2] float, W {@link #W}; output "y" [N, 3]. */
  static OnnxModel gemmRelu(double[] bias) {
    GraphProto.Builder g = GraphProto.newBuilder().setName("gemm_relu");
    g.addInput(input("x", TensorProto.DataType.FLOAT_VALUE, -1, 2));
    g.addInitializer(floats("fc.weight", new double[] {1, 2, 3, -1, 0.5, 0.25}, 3, 2));
    g.addInitializer(floats("fc.bias", bias, 3));
    g.addNode(node("Gemm", "fc", "fc_out", "x", "fc.weight", "fc.bias").toBuilder()
        .addAttribute(AttributeProto.newBuilder().setName("transB").setI(1)
            .setType(AttributeProto.AttributeType.INT)).build());
    g.addNode(node("Relu", "relu", "y", "fc_out"));
    g.addOutput(ValueInfoProto.newBuilder().setName("y")
        .setType(tensorType(TensorProto.DataType.FLOAT_VALUE, -1, 3)));
    return OnnxModel.parse(OnnxGraphs.model(g, 17).toByteArray(), "gemm_relu.onnx");
  }

  @AfterAll
  static void stop() {
    spark.stop();
  }

  static double[] expected(double[] x) {
    return expected(x, B);
  }

  static double[] expected(double[] x, double[] bias) {
    double[] y = new double[3];
    for (int i = 0; i < 3; i++) {
      y[i] = Math.max(0, W[i][0] * x[0] + W[i][1] * x[1] + bias[i]);
    }
    return y;
  }

  static List<double[]> inputs(int n) {
    SplittableRandom r = new SplittableRandom(3);
    List<double[]> xs = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      xs.add(new double[] {r.nextInt(-8, 9), r.nextInt(-8, 9)});
    }
    return xs;
  }

  private static Dataset<Row> vectors(List<double[]> xs, int partitions) {
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < xs.size(); i++) {
      rows.add(RowFactory.create(i, Vectors.dense(xs.get(i))));
    }
    StructType schema = new StructType().add("id", DataTypes.IntegerType).add("x", new VectorUDT());
    return spark.createDataFrame(rows, schema).repartition(partitions);
  }

  @Test
  void everyRowGetsItsOwnOutputForAnyPartitioningAndBatchSize() {
    List<double[]> xs = inputs(101);
    for (int partitions : new int[] {1, 3}) {
      for (int batch : new int[] {1, 7, 64}) {
        List<Row> out = NetworkTransform.transform(vectors(xs, partitions), model, "x", "y", null,
            null, batch).collectAsList();
        assertEquals(xs.size(), out.size());
        for (Row row : out) {
          int id = row.getInt(0);
          assertArrayEquals(xs.get(id), ((Vector) row.get(1)).toArray(), "input column kept");
          assertArrayEquals(expected(xs.get(id)), ((Vector) row.get(2)).toArray(),
              "row " + id + ", " + partitions + " partitions, batch " + batch);
        }
      }
    }
  }

  @Test
  void floatArrayColumnsAreFedAsTheirValues() {
    List<double[]> xs = inputs(20);
    List<Row> rows = new ArrayList<>();
    for (double[] x : xs) {
      rows.add(RowFactory.create((Object) new float[] {(float) x[0], (float) x[1]}));
    }
    StructType schema = new StructType().add("x",
        DataTypes.createArrayType(DataTypes.FloatType, false));
    List<Row> out = NetworkTransform.transform(spark.createDataFrame(rows, schema).coalesce(1),
        model, "x", "y", null, "y", 8).collectAsList();
    for (int i = 0; i < xs.size(); i++) {
      assertArrayEquals(expected(xs.get(i)), ((Vector) out.get(i).get(1)).toArray(), "row " + i);
    }
  }

  @Test
  void usageErrorsAreIllegalArgumentsNamingWhatIsWrong() {
    Dataset<Row> df = vectors(inputs(4), 1);
    IllegalArgumentException existing = assertThrows(IllegalArgumentException.class,
        () -> NetworkTransform.transform(df, model, "x", "id", null, null, 8));
    assertTrue(existing.getMessage().contains("'id' already exists"), existing.getMessage());
    IllegalArgumentException output = assertThrows(IllegalArgumentException.class,
        () -> NetworkTransform.transform(df, model, "x", "z", null, "logits", 8));
    assertTrue(output.getMessage().contains("no output 'logits'")
        && output.getMessage().contains("outputs: y"), output.getMessage());
    IllegalArgumentException column = assertThrows(IllegalArgumentException.class,
        () -> NetworkTransform.transform(df, model, "nope", "z", null, null, 8));
    assertTrue(column.getMessage().contains("nope"), column.getMessage());
  }

  @Test
  void aNaNValueIsADataErrorWhenTheRowsAreRead() {
    List<double[]> xs = inputs(5);
    xs.get(2)[1] = Double.NaN;
    Dataset<Row> out = NetworkTransform.transform(vectors(xs, 1), model, "x", "y", null, null, 8);
    Exception e = assertThrows(Exception.class, out::collectAsList);
    InputException ie = InputException.find(e);
    assertNotNull(ie, e.toString());
    assertEquals(InputException.DATA, ie.exitCode());
    assertTrue(ie.getMessage().contains("column 'x' has a NaN"), ie.getMessage());
  }
}
