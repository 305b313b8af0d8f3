package io.normstats.ml;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.normstats.onnx.NetworkInput;
import io.normstats.onnx.NetworkSession;
import io.normstats.onnx.OnnxModel;
import io.normstats.testing.IdxFiles;
import io.normstats.testing.OnnxGraphs;
import io.normstats.testing.Jobs;
import io.normstats.testing.TestSpark;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * BatchNormRecalibration and RecalibratedNetworkModel: the statistics and network the recalibrate
 * job computes, the network's output as ONNX Runtime gives it, and persistence in a PipelineModel.
 */
class BatchNormRecalibrationTest {
  private static final int ROWS = 1200;
  private static SparkSession spark;
  private static double[][] images;
  private static Dataset<Row> df;
  @TempDir static Path tmp;

  @BeforeAll
  static void start() throws Exception {
    spark = TestSpark.session("BatchNormRecalibrationTest");
    images = Arrays.copyOf(IdxFiles.readGzipImages(
        Path.of("sample-data/fashion-mnist/t10k-images-idx3-ubyte.gz")), ROWS);
    int[][] pixels = new int[ROWS][];
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < ROWS; i++) {
      pixels[i] = Arrays.stream(images[i]).mapToInt(v -> (int) v).toArray();
      rows.add(RowFactory.create(i, Vectors.dense(images[i])));
    }
    IdxFiles.writeImages(tmp.resolve("images-idx3-ubyte.gz"), 28, 28, pixels, true);
    StructType schema = new StructType().add("id", DataTypes.IntegerType)
        .add("image", new org.apache.spark.ml.linalg.VectorUDT());
    df = spark.createDataFrame(rows, schema).repartition(3);
  }

  private static float[][] logits(byte[] model) {
    OnnxModel m = OnnxModel.parse(model, "m");
    NetworkInput in = m.input(null);
    float[][] out = new float[ROWS][];
    try (NetworkSession s = new NetworkSession(model, "m", in, in.itemShape(784),
        List.of("logits"), ROWS)) {
      for (int i = 0; i < ROWS; i++) {
        System.arraycopy(images[i], 0, s.rows(), i * 784, 784);
      }
      s.run(ROWS);
      for (int i = 0; i < ROWS; i++) {
        out[i] = Arrays.copyOfRange(s.floats(0), i * 10, (i + 1) * 10);
      }
    }
    return out;
  }

  private static void assertLogits(float[][] expected, Dataset<Row> transformed, String col) {
    List<Row> rows = transformed.select("id", col).collectAsList();
    assertEquals(ROWS, rows.size());
    for (Row r : rows) {
      double[] got = ((Vector) r.get(1)).toArray();
      float[] e = expected[r.getInt(0)];
      assertEquals(10, got.length);
      for (int k = 0; k < 10; k++) {
        assertEquals(e[k], got[k], "row " + r.getInt(0) + " logit " + k); // the float, exactly
      }
    }
  }

  @Test
  void fitsWhatTheJobComputesRunsTheNetworkAndPersistsInAPipeline() throws Exception {
    BatchNormRecalibration stage = new BatchNormRecalibration().setModelPath(
        OnnxGraphs.sampleModel().toString()).setInputCol("image").setOutputCol("logits")
        .setBatchSize(50);
    RecalibratedNetworkModel model = stage.fit(df);

    // the same statistics and network as the recalibrate job on the same rows
    Path out = tmp.resolve("job");
    Jobs.ok("recalibrate", "--model", OnnxGraphs.sampleModel().toString(), "--input",
        tmp.resolve("images-idx3-ubyte.gz").toString(), "--output", out.toString());
    assertArrayEquals(Files.readAllBytes(out.resolve("model.onnx")), model.onnxModel());
    JsonNode json = new ObjectMapper().readTree(out.resolve("recalibrate.json").toFile());
    assertEquals(3, model.layers().size());
    for (int k = 0; k < 3; k++) {
      RecalibratedNetworkModel.Layer l = model.layers().get(k);
      JsonNode j = json.get("layers").get(k);
      assertEquals(j.get("node").asText(), l.node());
      assertEquals(j.get("input").asText(), l.input());
      assertEquals(j.get("level").asInt(), l.level());
      assertEquals(j.get("count").asLong(), l.count());
      for (int c = 0; c < l.mean().length; c++) {
        assertEquals(j.get("mean").get(c).asDouble(), l.mean()[c]);
        assertEquals(j.get("var_pop").get(c).asDouble(), l.varPop()[c]);
        assertEquals(j.get("var_samp").get(c).asDouble(), l.varSamp()[c]);
      }
    }

    // transform: the logits ONNX Runtime gives for the recalibrated network, bit for bit
    float[][] expected = logits(model.onnxModel());
    assertLogits(expected, model.transform(df), "logits");

    // in a pipeline, saved and loaded: the same output bits, network and statistics
    PipelineModel pipeline = new Pipeline().setStages(new PipelineStage[] {stage}).fit(df);
    String dir = tmp.resolve("pipeline").toString();
    pipeline.write().overwrite().save(dir);
    PipelineModel loaded = PipelineModel.load(dir);
    RecalibratedNetworkModel reloaded = (RecalibratedNetworkModel) loaded.stages()[0];
    assertArrayEquals(model.onnxModel(), reloaded.onnxModel());
    assertEquals(50, reloaded.getBatchSize());
    for (int k = 0; k < 3; k++) {
      assertArrayEquals(model.layers().get(k).varPop(), reloaded.layers().get(k).varPop());
      assertEquals(model.layers().get(k).node(), reloaded.layers().get(k).node());
    }
    assertLogits(expected, loaded.transform(df), "logits");
    // the unfitted stage round-trips too
    stage.write().overwrite().save(tmp.resolve("stage").toString());
    BatchNormRecalibration stageLoaded = BatchNormRecalibration.load(tmp.resolve("stage")
        .toString());
    assertEquals(stage.getModelPath(), stageLoaded.getModelPath());
    assertEquals("image", stageLoaded.getInputCol());

    // array<float> input and another batch size: the same logits
    Dataset<Row> floats = df.select(functions.col("id"),
        org.apache.spark.ml.functions.vector_to_array(functions.col("image"), "float32")
            .as("pixels"));
    assertLogits(expected, reloaded.copy(new org.apache.spark.ml.param.ParamMap())
        .setInputCol("pixels").setOutputCol("out").setBatchSize(7).transform(floats), "out");
  }

  @Test
  void paramErrorsAreIllegalArguments() throws Exception {
    BatchNormRecalibration noModel = new BatchNormRecalibration().setInputCol("image");
    assertEquals("modelPath is not set",
        assertThrows(IllegalArgumentException.class, () -> noModel.fit(df)).getMessage());
    BatchNormRecalibration missing = new BatchNormRecalibration().setInputCol("image")
        .setModelPath(tmp.resolve("none.onnx").toString());
    assertTrue(assertThrows(IllegalArgumentException.class, () -> missing.fit(df)).getMessage()
        .endsWith("none.onnx does not exist"));
    Path mlp = Files.write(tmp.resolve("mlp.onnx"), OnnxGraphs.residualMlp(5, 1));
    BatchNormRecalibration wrongLength = new BatchNormRecalibration().setInputCol("image")
        .setModelPath(mlp.toString());
    assertEquals("the input rows have 784 values, but the model's input 'x' has shape [N, 5] "
        + "(5 values per row)",
        assertThrows(IllegalArgumentException.class, () -> wrongLength.fit(df)).getMessage());
    BatchNormRecalibration noColumn = new BatchNormRecalibration().setInputCol("pixels")
        .setModelPath(OnnxGraphs.sampleModel().toString());
    assertThrows(IllegalArgumentException.class, () -> noColumn.fit(df));
  }

  /** A network over 2 GB with its data does not fit a fitted model: a one-line error. */
  @Test
  void aNetworkOver2GbIsRefused() {
    BatchNormRecalibration stage = new BatchNormRecalibration().setModelPath(
        "sample-data/zoo/resnet/dynamo.onnx").setInputCol("image").setOutputCol("logits");
    System.setProperty("normstats.onnx.inlineLimit", "310000"); // 100 KB under the model
    IllegalArgumentException e;
    try {
      e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
          () -> stage.fit(df));
    } finally {
      System.clearProperty("normstats.onnx.inlineLimit");
    }
    assertEquals("sample-data/zoo/resnet/dynamo.onnx is over 2 GB with its data, more than the "
        + "fitted model holds; recalibrate it with the recalibrate job, which writes such models",
        e.getMessage());
  }
}
