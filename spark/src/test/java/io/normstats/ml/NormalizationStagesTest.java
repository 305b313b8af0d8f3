package io.normstats.ml;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.normstats.InputException;
import io.normstats.testing.TestSpark;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.feature.StandardScaler;
import org.apache.spark.ml.feature.StandardScalerModel;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vector;
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
import org.junit.jupiter.api.io.TempDir;

/** The normalization stages on local[2]: conformance, hand-computed PyTorch cases, persistence. */
class NormalizationStagesTest {
  private static SparkSession spark;
  @TempDir static Path tmp;

  @BeforeAll
  static void start() {
    spark = TestSpark.session("NormalizationStagesTest");
  }

  @AfterAll
  static void stop() {
    spark.stop();
  }

  static Dataset<Row> vectors(double[]... rows) {
    List<Row> list = new ArrayList<>();
    for (int i = 0; i < rows.length; i++) {
      list.add(RowFactory.create(i, rows[i] == null ? null : Vectors.dense(rows[i])));
    }
    StructType schema = new StructType().add("id", DataTypes.IntegerType)
        .add("x", SQLDataTypes.VectorType(), true);
    return spark.createDataFrame(list, schema).repartition(2);
  }

  static Dataset<Row> arrays(boolean floats, double[]... rows) {
    List<Row> list = new ArrayList<>();
    for (int i = 0; i < rows.length; i++) {
      Object[] values = new Object[rows[i].length];
      for (int k = 0; k < values.length; k++) {
        values[k] = floats ? (Object) (float) rows[i][k] : (Object) rows[i][k];
      }
      list.add(RowFactory.create(i, values));
    }
    StructType schema = new StructType().add("id", DataTypes.IntegerType)
        .add("x", DataTypes.createArrayType(floats ? DataTypes.FloatType : DataTypes.DoubleType));
    return spark.createDataFrame(list, schema);
  }

  /** Output vectors by id. */
  static double[][] outputs(Dataset<Row> df, String column) {
    List<Row> rows = df.orderBy("id").select(column).collectAsList();
    double[][] out = new double[rows.size()][];
    for (int i = 0; i < out.length; i++) {
      Object v = rows.get(i).get(0);
      out[i] = v == null ? null : v instanceof Vector vec ? vec.toArray()
          : rows.get(i).getList(0).stream().mapToDouble(o -> ((Number) o).doubleValue()).toArray();
    }
    return out;
  }

  @Test
  void batchNormWithSampleVarianceAndNoEpsilonIsStandardScaler() {
    Random r = new Random(3);
    double[][] rows = new double[500][];
    for (int i = 0; i < rows.length; i++) {
      rows[i] = new double[] {r.nextGaussian(), 1e6 + r.nextGaussian(), 7.0, 3 * r.nextDouble() - 8,
          i % 2 == 0 ? 0 : r.nextGaussian() * 1e-3};
    }
    Dataset<Row> df = vectors(rows);
    StandardScalerModel scaler = new StandardScaler().setInputCol("x").setOutputCol("spark")
        .setWithMean(true).setWithStd(true).fit(df);
    BatchNormModel bn = new BatchNorm().setInputCol("x").setOutputCol("ours")
        .setVarianceMode("sample").setEpsilon(0).fit(df);
    double[][] expected = outputs(scaler.transform(df), "spark");
    double[][] actual = outputs(bn.transform(df), "ours");
    for (int i = 0; i < rows.length; i++) {
      for (int j = 0; j < 5; j++) {
        double e = expected[i][j];
        assertEquals(e, actual[i][j], 1e-9 * Math.max(1, Math.abs(e)), "row " + i + " feature " + j);
      }
      assertEquals(0.0, actual[i][2], "a constant feature gives beta = 0, as Spark gives 0");
    }
    for (int j = 0; j < 5; j++) {
      assertEquals(scaler.mean().apply(j), bn.mean().apply(j), 1e-12 * Math.abs(scaler.mean().apply(j)) + 1e-15);
      assertEquals(scaler.std().apply(j) * scaler.std().apply(j), bn.variance().apply(j),
          1e-9 * bn.variance().apply(j));
    }
  }

  @Test
  void batchNorm1dAnd2dInEvalModeByHand() {
    // BatchNorm1d(2) in eval() with running_mean [1, 2], running_var [4, 0.25], eps 0,
    // weight [2, 3], bias [0.5, -1]: y = (x - mean) / sqrt(var) * w + b
    BatchNormModel bn1 = new BatchNormModel(Vectors.dense(1, 2), Vectors.dense(4, 0.25))
        .setInputCol("x").setOutputCol("y").setEpsilon(0).setWeight(Vectors.dense(2, 3))
        .setBias(Vectors.dense(0.5, -1));
    assertArrayEquals(new double[] {2.5, 2.0}, outputs(bn1.transform(vectors(new double[] {3, 2.5})), "y")[0]);
    // with PyTorch's eps 1e-5: (3 - 1) / sqrt(4.00001) = 0.99999875000234...
    bn1.setEpsilon(1e-5);
    double[] y = outputs(bn1.transform(vectors(new double[] {3, 2.5})), "y")[0];
    assertEquals(2 * 0.9999987500023437 + 0.5, y[0], 1e-15);

    // BatchNorm2d(2) on 2 images of 2 channels x 2 pixels, channel-major:
    // channel 0 sees {1, 2, 3, 4}: mean 2.5, var 1.25; channel 1 sees {3, 4, 5, 6}: mean 4.5, var 1.25
    Dataset<Row> images = vectors(new double[] {1, 2, 3, 4}, new double[] {3, 4, 5, 6});
    BatchNormModel bn2 = new BatchNorm().setInputCol("x").setOutputCol("y").setNumChannels(2)
        .setEpsilon(0).setWeight(Vectors.dense(2, 1)).setBias(Vectors.dense(0, 10)).fit(images);
    assertArrayEquals(new double[] {2.5, 4.5}, bn2.mean().toArray());
    assertArrayEquals(new double[] {1.25, 1.25}, bn2.variance().toArray());
    double s = Math.sqrt(1.25);
    assertArrayEquals(new double[] {-3 / s, -1 / s, -1.5 / s + 10, -0.5 / s + 10},
        outputs(bn2.transform(images), "y")[0], 1e-14);
  }

  @Test
  void layerGroupAndRmsNormByHand() {
    Dataset<Row> df = vectors(new double[] {1, 2, 3, 4});
    // torch.nn.LayerNorm(4)(torch.tensor([1., 2., 3., 4.])) = [-1.3416, -0.4472, 0.4472, 1.3416]
    double[] ln = outputs(new LayerNorm().setInputCol("x").setOutputCol("y").transform(df), "y")[0];
    assertArrayEquals(new double[] {-1.3416, -0.4472, 0.4472, 1.3416}, ln, 1e-4);
    double s = Math.sqrt(1.25 + 1e-5);
    assertArrayEquals(new double[] {-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s}, ln, 1e-15);
    // elementwise affine
    double[] lnAffine = outputs(new LayerNorm().setInputCol("x").setOutputCol("y")
        .setWeight(Vectors.dense(1, 2, 3, 4)).setBias(Vectors.dense(0, 0, 0, 1)).transform(df), "y")[0];
    assertArrayEquals(new double[] {-1.5 / s, -1.0 / s, 1.5 / s, 6.0 / s + 1}, lnAffine, 1e-15);
    // GroupNorm(2 groups, 2 channels of 2 elements), per-channel weight [2, 3], bias [1, 0]:
    // groups {1, 2} and {3, 4}, each mean +1.5 from its start and variance 0.25
    double g = Math.sqrt(0.25 + 1e-5);
    double[] gn = outputs(new LayerNorm().setInputCol("x").setOutputCol("y").setNumGroups(2)
        .setNumChannels(2).setWeight(Vectors.dense(2, 3)).setBias(Vectors.dense(1, 0))
        .transform(df), "y")[0];
    assertArrayEquals(new double[] {-0.5 / g * 2 + 1, 0.5 / g * 2 + 1, -0.5 / g * 3, 0.5 / g * 3}, gn, 1e-15);
    // RMSNorm: mean(x^2) of [3, 4] is 12.5
    double[] rms = outputs(new RMSNorm().setInputCol("x").setOutputCol("y").setEpsilon(0)
        .setWeight(Vectors.dense(1, 2)).transform(vectors(new double[] {3, 4})), "y")[0];
    assertArrayEquals(new double[] {3 / Math.sqrt(12.5), 8 / Math.sqrt(12.5)}, rms, 1e-15);
  }

  @Test
  void zeroVarianceGivesBetaEvenWithoutEpsilon() {
    Dataset<Row> df = vectors(new double[] {5, 1}, new double[] {5, 3});
    BatchNormModel bn = new BatchNorm().setInputCol("x").setOutputCol("y").setEpsilon(0)
        .setBias(Vectors.dense(0.25, 0)).fit(df);
    for (double[] y : outputs(bn.transform(df), "y")) {
      assertEquals(0.25, y[0]);
    }
    double[] ln = outputs(new LayerNorm().setInputCol("x").setOutputCol("y").setEpsilon(0)
        .setBias(Vectors.dense(7, 8)).transform(vectors(new double[] {2, 2})), "y")[0];
    assertArrayEquals(new double[] {7, 8}, ln);
    double[] rms = outputs(new RMSNorm().setInputCol("x").setOutputCol("y").setEpsilon(0)
        .transform(vectors(new double[] {0, 0})), "y")[0];
    assertArrayEquals(new double[] {0, 0}, rms);
  }

  @Test
  void arraysInArraysOut() {
    Dataset<Row> df = arrays(true, new double[] {1, 2, 3, 4});
    Dataset<Row> out = new LayerNorm().setInputCol("x").setOutputCol("y").setOutputType("array")
        .transform(df);
    assertEquals(DataTypes.createArrayType(DataTypes.FloatType), out.schema().apply("y").dataType());
    float[] expected = {(float) (-1.5 / Math.sqrt(1.25 + 1e-5)), 0, 0, 0};
    assertEquals(expected[0], ((Number) out.first().getList(2).get(0)).floatValue());
    Dataset<Row> doubles = new BatchNorm().setInputCol("x").setOutputCol("y")
        .fit(arrays(false, new double[] {1, 2}, new double[] {3, 4}))
        .transform(arrays(false, new double[] {1, 2}));
    assertEquals(SQLDataTypes.VectorType(), doubles.schema().apply("y").dataType());
  }

  @Test
  void invalidValuesAndWrongLengths() {
    Dataset<Row> df = vectors(new double[] {1, 2}, new double[] {Double.NaN, 2}, null,
        new double[] {3, 6});
    BatchNorm bn = new BatchNorm().setInputCol("x").setOutputCol("y");
    InputException e = assertThrows(InputException.class, () -> bn.fit(df));
    assertTrue(e.getMessage().contains("column 'x' has 1 NaN or infinite and 1 null values"),
        e.getMessage());
    BatchNormModel skip = bn.copy(new org.apache.spark.ml.param.ParamMap()).setHandleInvalid("skip")
        .fit(df);
    assertArrayEquals(new double[] {2, 4}, skip.mean().toArray());
    assertEquals(2, skip.transform(df).count(), "skip drops the invalid rows");
    BatchNormModel keep = new BatchNorm().setInputCol("x").setOutputCol("y")
        .setHandleInvalid("keep").fit(df);
    assertArrayEquals(new double[] {2, 10.0 / 3}, keep.mean().toArray(), 1e-15);
    double[][] kept = outputs(keep.transform(df), "y");
    assertTrue(Double.isNaN(kept[1][0]));
    assertNull(kept[2]);
    // errors in transform name the column
    Exception nan = assertThrows(Exception.class,
        () -> skip.setHandleInvalid("error").transform(df).collect());
    String message = InputException.find(nan).getMessage();
    assertTrue(message.equals("column 'x' has a NaN or infinite value (handleInvalid=error; set it "
        + "to skip or keep)") || message.startsWith("column 'x' has a null value"), message);
    Exception length = assertThrows(Exception.class,
        () -> skip.transform(vectors(new double[] {1, 2, 3})).collect());
    assertEquals("column 'x' has a vector of length 3, expected 2",
        InputException.find(length).getMessage());
    IllegalArgumentException type = assertThrows(IllegalArgumentException.class,
        () -> skip.setInputCol("id").transform(df));
    assertTrue(type.getMessage().contains("column 'id' is int, not a vector"));
    assertThrows(IllegalArgumentException.class, () -> new BatchNorm().setInputCol("x")
        .setWeight(Vectors.dense(1, 2, 3)).fit(vectors(new double[] {1, 2})));
    assertThrows(IllegalArgumentException.class, () -> new BatchNorm().setInputCol("x")
        .setNumChannels(3).fit(vectors(new double[] {1, 2})));
  }

  @Test
  void crossValidatorTunesBatchNormParams() {
    Random r = new Random(2);
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      double a = r.nextGaussian();
      double b = 1000 + 50 * r.nextGaussian();
      rows.add(RowFactory.create(a + (b - 1000) / 50 > 0 ? 1.0 : 0.0, Vectors.dense(a, b)));
    }
    Dataset<Row> df = spark.createDataFrame(rows, new StructType()
        .add("label", DataTypes.DoubleType).add("x", SQLDataTypes.VectorType()));
    BatchNorm bn = new BatchNorm().setInputCol("x").setOutputCol("features");
    org.apache.spark.ml.classification.LogisticRegression lr =
        new org.apache.spark.ml.classification.LogisticRegression().setMaxIter(20);
    Pipeline pipeline = new Pipeline().setStages(new PipelineStage[] {bn, lr});
    org.apache.spark.ml.param.ParamMap[] grid = new org.apache.spark.ml.tuning.ParamGridBuilder()
        .addGrid(bn.epsilon(), new double[] {1e-5, 1e3}).build();
    org.apache.spark.ml.tuning.CrossValidatorModel cv = new org.apache.spark.ml.tuning.CrossValidator()
        .setEstimator(pipeline).setEstimatorParamMaps(grid).setNumFolds(2).setSeed(1)
        .setEvaluator(new org.apache.spark.ml.evaluation.BinaryClassificationEvaluator()).fit(df);
    assertEquals(2, cv.avgMetrics().length);
    PipelineModel best = (PipelineModel) cv.bestModel();
    BatchNormModel fitted = (BatchNormModel) best.stages()[0];
    assertEquals(2, fitted.mean().size());
    assertTrue(cv.avgMetrics()[0] > 0.9, "standardized features separate the classes");
  }

  @Test
  void pipelinesSaveLoadAndTransformToTheSameBits() throws Exception {
    Random r = new Random(1);
    double[][] rows = new double[200][];
    for (int i = 0; i < rows.length; i++) {
      rows[i] = new double[] {r.nextGaussian(), 5 + r.nextGaussian(), r.nextDouble(), -r.nextDouble()};
    }
    Dataset<Row> df = vectors(rows);
    Pipeline pipeline = new Pipeline().setStages(new PipelineStage[] {
        new BatchNorm().setInputCol("x").setOutputCol("bn").setNumChannels(2)
            .setWeight(Vectors.dense(2, 3)),
        new LayerNorm().setInputCol("bn").setOutputCol("ln").setNumGroups(2),
        new RMSNorm().setInputCol("ln").setOutputCol("rms").setEpsilon(1e-6)});
    PipelineModel model = pipeline.fit(df);
    double[][] before = outputs(model.transform(df), "rms");
    String dir = tmp.resolve("pipeline-model").toString();
    model.write().save(dir);
    model.write().overwrite().save(dir);
    PipelineModel loaded = PipelineModel.load(dir);
    double[][] after = outputs(loaded.transform(df), "rms");
    for (int i = 0; i < rows.length; i++) {
      assertArrayEquals(before[i], after[i], "row " + i);
    }
    BatchNormModel bn = (BatchNormModel) loaded.stages()[0];
    assertEquals(((BatchNormModel) model.stages()[0]).mean(), bn.mean());
    assertEquals(Vectors.dense(2, 3), bn.getOrDefault(bn.weight()));
    // the unfitted pipeline too
    String pipelineDir = tmp.resolve("pipeline").toString();
    pipeline.write().save(pipelineDir);
    Pipeline again = Pipeline.load(pipelineDir);
    assertEquals(3, again.getStages().length);
    assertEquals(1e-6, (Double) ((RMSNorm) again.getStages()[2]).getOrDefault(((RMSNorm) again.getStages()[2]).epsilon()));
    // a directory holding something else
    IllegalArgumentException notAStage = assertThrows(IllegalArgumentException.class,
        () -> BatchNormModel.load(tmp.toString()));
    assertTrue(notAStage.getMessage().contains("is not a saved Spark ML stage"), notAStage.getMessage());
    String layerDir = tmp.resolve("layer").toString();
    new LayerNorm().setInputCol("x").write().save(layerDir);
    Exception wrongClass = assertThrows(Exception.class, () -> BatchNormModel.load(layerDir));
    assertTrue(wrongClass.getMessage().contains("io.normstats.ml.LayerNorm"), wrongClass.getMessage());
  }
}
