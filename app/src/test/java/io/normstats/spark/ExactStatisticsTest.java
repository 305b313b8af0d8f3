package io.normstats.spark;

import static io.normstats.testing.ExactOracle.assertMoments;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.normstats.InputException;
import io.normstats.minibatch.CompareSettings;
import io.normstats.minibatch.Comparison;
import io.normstats.output.CompareOutput;
import io.normstats.result.DatasetStatistics;
import io.normstats.spark.input.InputFormat;
import io.normstats.spark.input.Inputs;
import io.normstats.testing.TestSpark;
import java.math.BigDecimal;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.Metadata;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Spark read paths of {@link ExactStatistics}: columnar batches of a vectorized Parquet scan,
 * internal rows of scalars, vectors (dense, sparse, cached) and arrays, each against the exact
 * oracle and against each other, with nulls, NaN and mixed numeric types.
 */
class ExactStatisticsTest {
  private static SparkSession spark;
  @TempDir Path dir;

  @BeforeAll
  static void start() {
    spark = TestSpark.session("ExactStatisticsTest");
  }

  @AfterEach
  void vectorizedReaderBackOn() {
    spark.conf().set("spark.sql.parquet.enableVectorizedReader", "true");
  }

  /** Rows of (i int, f float, l long, d double, m decimal(20,4), x double): some nulls and NaN. */
  private List<Row> mixedRows(int n) {
    SplittableRandom r = new SplittableRandom(5);
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      rows.add(RowFactory.create(
          i % 97 == 0 ? null : r.nextInt(-1000, 1000),
          (float) r.nextGaussian(),
          (long) r.nextInt() << 8,
          1e9 + 10 * r.nextDouble(),
          new BigDecimal(r.nextInt(-99999, 99999)).movePointLeft(4),
          i % 501 == 0 ? Double.NaN : r.nextGaussian() * 1e-3));
    }
    return rows;
  }

  private static final StructType MIXED = new StructType(new StructField[] {
      new StructField("i", DataTypes.IntegerType, true, Metadata.empty()),
      new StructField("f", DataTypes.FloatType, false, Metadata.empty()),
      new StructField("l", DataTypes.LongType, false, Metadata.empty()),
      new StructField("d", DataTypes.DoubleType, false, Metadata.empty()),
      new StructField("m", DataTypes.createDecimalType(20, 4), false, Metadata.empty()),
      new StructField("x", DataTypes.DoubleType, false, Metadata.empty())});

  @Test
  void parquetColumnarBatchesEqualRowsAndTheOracle() {
    List<Row> rows = mixedRows(9000);
    String path = dir.resolve("mixed.parquet").toString();
    spark.createDataFrame(rows, MIXED).repartition(3).write().parquet(path);
    List<String> features = List.of("x", "d", "i", "m", "f", "l"); // not the file's order
    Dataset<Row> df = spark.read().parquet(path);
    FeatureSelection selection = FeatureSelection.resolve(df, features, null);
    assertTrue(ExactStatistics.columnarScan(df.select(selection.columnReferences())).isPresent(),
        "the vectorized Parquet scan is read as columnar batches");
    DatasetStatistics columnar = ExactStatistics.compute(df, selection);

    spark.conf().set("spark.sql.parquet.enableVectorizedReader", "false");
    Dataset<Row> rowDf = spark.read().parquet(path);
    assertFalse(ExactStatistics.columnarScan(rowDf.select(selection.columnReferences())).isPresent());
    DatasetStatistics byRows = ExactStatistics.compute(rowDf, selection);

    assertEquals(byRows, columnar);
    assertEquals(9000, columnar.rows());
    for (int j = 0; j < features.size(); j++) {
      int column = MIXED.fieldIndex(features.get(j));
      double[] values = rows.stream().filter(row -> !row.isNullAt(column))
          .mapToDouble(row -> ((Number) row.get(column)).doubleValue())
          .filter(Double::isFinite).toArray();
      assertMoments(values, columnar.features().get(j).moments(), features.get(j));
    }
    assertEquals(93, columnar.features().get(2).moments().nullCount()); // i: every 97th row
    assertEquals(18, columnar.features().get(0).moments().nanCount()); // x: every 501st row
  }

  /**
   * The report's exact pass, which also counts the rows of every split (the input order), reads a
   * Parquet file's columnar batches with the file and split taken from the scan's metadata columns,
   * and agrees with the row reader: statistics, row count and every split's offset.
   */
  @Test
  void orderedPassReadsBatchesWithTheirOrigin() {
    List<Row> rows = mixedRows(6000);
    String path = dir.resolve("ordered.parquet").toString();
    spark.createDataFrame(rows, MIXED).repartition(3).write().parquet(path);
    List<String> features = List.of("x", "d", "i", "m", "f", "l");
    OrderedInput input = Inputs.readOrdered(spark, path, InputFormat.PARQUET);
    FeatureSelection selection = FeatureSelection.resolve(input.data(), features, null);
    assertTrue(ExactStatistics.columnarScan(input.withOrigin().select(selection.columnReferences()[0],
        functions.col(InputOrder.FILE_COLUMN), functions.col(InputOrder.START_COLUMN)))
        .isPresent(), "features and origin are read as columnar batches");
    ExactStatistics.Ordered columnar = ExactStatistics.computeOrdered(input, selection);

    spark.conf().set("spark.sql.parquet.enableVectorizedReader", "false");
    OrderedInput rowInput = Inputs.readOrdered(spark, path, InputFormat.PARQUET);
    ExactStatistics.Ordered byRows = ExactStatistics.computeOrdered(rowInput, selection);

    assertEquals(byRows.result(), columnar.result());
    assertEquals(ExactStatistics.compute(input.data(), selection), columnar.result());
    assertEquals(6000, columnar.order().rows());
    assertEquals(byRows.order().rows(), columnar.order().rows());
    List<Row> splits = input.withOrigin().select(InputOrder.FILE_COLUMN, InputOrder.START_COLUMN)
        .distinct().collectAsList();
    assertEquals(3, splits.size());
    for (Row split : splits) {
      assertEquals(byRows.order().offset(split.getString(0), split.getLong(1)),
          columnar.order().offset(split.getString(0), split.getLong(1)), split.toString());
    }
  }

  /**
   * The minibatch pass places a Parquet file's rows from its columnar batches, origin included,
   * and gives the result the row reader gives, to the byte of compare.json.
   */
  @Test
  void minibatchPassReadsBatchesWithTheirOrigin() throws java.io.IOException {
    String path = dir.resolve("minibatch.parquet").toString();
    spark.createDataFrame(mixedRows(3000), MIXED).na().drop().repartition(3).write().parquet(path);
    List<String> features = List.of("d", "i", "m", "f", "l");
    CompareSettings settings = CompareSettings.builder(4, 50)
        .epochs(2).seed(7).tracePoints(20).build();
    OrderedInput input = Inputs.readOrdered(spark, path, InputFormat.PARQUET);
    FeatureSelection selection = FeatureSelection.resolve(input.data(), features, null);
    assertTrue(ExactStatistics.columnarWithOrigin(input, selection).isPresent());
    String columnar = compareJson(input, selection, settings);
    spark.conf().set("spark.sql.parquet.enableVectorizedReader", "false");
    OrderedInput rowInput = Inputs.readOrdered(spark, path, InputFormat.PARQUET);
    assertFalse(ExactStatistics.columnarWithOrigin(rowInput, selection).isPresent());
    assertEquals(compareJson(rowInput, selection, settings), columnar);
  }

  /**
   * The same on 150 columns and 5,000 rows in one file: batches of 4,096 and 904 rows are copied
   * (and kept) in tiles of {@code KEEP_TILE_ROWS} rows, so tiles end inside batches, with the
   * batches, and short
   * at a batch's end.
   */
  @Test
  void minibatchPassOnAWideTableReadsBatchesInTiles() throws java.io.IOException {
    int width = 150;
    int rowCount = 5000;
    assertTrue(ExactStatistics.KEEP_TILE_ROWS < 4096 && 4096 % ExactStatistics.KEEP_TILE_ROWS == 0
        && (rowCount - 4096) % ExactStatistics.KEEP_TILE_ROWS != 0);
    SplittableRandom r = new SplittableRandom(12);
    List<StructField> fields = new ArrayList<>();
    for (int j = 0; j < width; j++) {
      fields.add(new StructField("c" + j, DataTypes.DoubleType, false, Metadata.empty()));
    }
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < rowCount; i++) {
      Object[] values = new Object[width];
      for (int j = 0; j < width; j++) {
        values[j] = (j + 1) * 10.0 + r.nextGaussian();
      }
      rows.add(RowFactory.create(values));
    }
    String path = dir.resolve("wide-minibatch.parquet").toString();
    spark.createDataFrame(rows, new StructType(fields.toArray(new StructField[0]))).coalesce(1)
        .write().parquet(path);
    CompareSettings settings = CompareSettings.builder(8, 100).seed(3).tracePoints(10).build();
    OrderedInput input = Inputs.readOrdered(spark, path, InputFormat.PARQUET);
    FeatureSelection selection = FeatureSelection.resolve(input.data(), null, null);
    assertEquals(width, selection.size());
    String columnar;
    spark.conf().set(ExactStatistics.PLAN_WIDE_SCANS, "true"); // as a job's session has it
    try {
      assertTrue(ExactStatistics.columnarWithOrigin(input, selection).isPresent());
      columnar = compareJson(input, selection, settings);
    } finally {
      spark.conf().unset(ExactStatistics.PLAN_WIDE_SCANS);
    }
    spark.conf().set("spark.sql.parquet.enableVectorizedReader", "false");
    try {
      assertEquals(compareJson(Inputs.readOrdered(spark, path, InputFormat.PARQUET), selection,
          settings), columnar);
    } finally {
      spark.conf().unset("spark.sql.parquet.enableVectorizedReader");
    }
  }

  /**
   * The batch-mean histogram of one feature at one batch size: every batch's mean once, binned as
   * the BigDecimal mean of the batch's rows (the input order, without shuffling); rows packed as
   * bytes, floats and doubles, a last partial batch kept.
   */
  @Test
  void batchMeansBinEveryBatchOnce() throws java.io.IOException {
    int rowCount = 1003;
    SplittableRandom r = new SplittableRandom(21);
    List<Row> rows = new ArrayList<>();
    double[][] values = new double[rowCount][3];
    for (int i = 0; i < rowCount; i++) {
      for (int j = 0; j < 3; j++) {
        values[i][j] = switch (i % 3) {
          case 0 -> r.nextInt(256);                           // a row of bytes
          case 1 -> (float) (100 * j + r.nextGaussian());     // floats
          default -> 1e6 * (j + 1) + r.nextGaussian();        // doubles
        };
      }
      rows.add(RowFactory.create(values[i][0], values[i][1], values[i][2]));
    }
    StructType schema = new StructType().add("a", DataTypes.DoubleType, false)
        .add("b", DataTypes.DoubleType, false).add("c", DataTypes.DoubleType, false);
    String path = dir.resolve("batch-means.parquet").toString();
    spark.createDataFrame(rows, schema).coalesce(1).write().parquet(path);
    CompareSettings settings = CompareSettings.builder(64, 10)
        .shuffle(false).dropLast(false).tracePoints(10).build();
    OrderedInput input = Inputs.readOrdered(spark, path, InputFormat.PARQUET);
    FeatureSelection selection = FeatureSelection.resolve(input.data(), null, null);
    ExactStatistics.OrderedRows kept = ExactStatistics.computeOrderedKeepingRows(input, selection);
    MinibatchComparison run = MinibatchComparison.start(kept, selection, settings);
    try {
      for (int sizeIndex = 0; sizeIndex < 2; sizeIndex++) {
        int m = settings.batchSizes()[sizeIndex];
        for (int j = 0; j < 3; j++) {
          double[] column = new double[rowCount];
          for (int i = 0; i < rowCount; i++) {
            column[i] = values[i][j];
          }
          List<Double> means = new ArrayList<>();
          for (int start = 0; start < rowCount; start += m) {
            int size = Math.min(m, rowCount - start);
            BigDecimal sum = BigDecimal.ZERO;
            for (int i = start; i < start + size; i++) {
              sum = sum.add(new BigDecimal(column[i]));
            }
            means.add(sum.divide(BigDecimal.valueOf(size), java.math.MathContext.DECIMAL128)
                .doubleValue());
          }
          // bins over the middle of the means' range, so that they spread and some fall outside
          double lo = means.stream().mapToDouble(x -> x).min().getAsDouble();
          double hi = means.stream().mapToDouble(x -> x).max().getAsDouble();
          double low = lo + (hi - lo) / 10;
          double high = hi - (hi - lo) / 10;
          io.normstats.minibatch.LinearHistogram expected =
              new io.normstats.minibatch.LinearHistogram(low, high, 16);
          means.forEach(expected::add);
          io.normstats.minibatch.LinearHistogram actual = run.batchMeans(sizeIndex, j, low, high,
              16);
          String what = "feature " + j + ", batch size " + m;
          assertEquals((rowCount + m - 1) / m, actual.total(), what);
          assertEquals(java.util.Arrays.toString(expected.counts()),
              java.util.Arrays.toString(actual.counts()), what);
          assertEquals(expected.below(), actual.below(), what);
          assertEquals(expected.above(), actual.above(), what);
        }
      }
    } finally {
      run.close();
      kept.close();
    }
  }

  private static String compareJson(OrderedInput input, FeatureSelection selection,
      CompareSettings settings) throws java.io.IOException {
    try (ExactStatistics.OrderedRows kept =
        ExactStatistics.computeOrderedKeepingRows(input, selection)) {
      Comparison.Result result = MinibatchComparison.compute(kept, selection, settings);
      java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
      CompareOutput.writeJson(kept.ordered().result(), settings, result, bytes);
      return bytes.toString(java.nio.charset.StandardCharsets.UTF_8);
    }
  }

  @Test
  void aTableWiderThanSparksCodegenLimitIsReadAsBatchesOnlyWhereTheSessionAllowsIt() {
    int width = 150; // above spark.sql.codegen.maxFields (100), where Spark's scan gives rows
    SplittableRandom r = new SplittableRandom(11);
    List<StructField> fields = new ArrayList<>();
    for (int j = 0; j < width; j++) {
      fields.add(new StructField("c" + j, DataTypes.DoubleType, false, Metadata.empty()));
    }
    StructType schema = new StructType(fields.toArray(new StructField[0]));
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < 700; i++) {
      Object[] values = new Object[width];
      for (int j = 0; j < width; j++) {
        values[j] = 1e9 * (j + 1) + r.nextDouble();
      }
      rows.add(RowFactory.create(values));
    }
    String path = dir.resolve("wide.parquet").toString();
    spark.createDataFrame(rows, schema).repartition(2).write().parquet(path);
    Dataset<Row> df = spark.read().parquet(path);
    FeatureSelection selection = FeatureSelection.resolve(df, null, null);
    assertEquals(width, selection.size());
    // A library call never changes the caller's session: while it plans and reads, another thread
    // plans queries in the same session and watches the codegen limit.
    java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
    List<String> seen = java.util.Collections.synchronizedList(new ArrayList<>());
    String limit = spark.conf().get("spark.sql.codegen.maxFields");
    Thread watcher = new Thread(() -> {
      while (!stop.get()) {
        spark.range(3).selectExpr("id * 2").queryExecution().executedPlan();
        String now = spark.conf().get("spark.sql.codegen.maxFields");
        if (!now.equals(limit)) {
          seen.add(now);
        }
      }
    });
    DatasetStatistics byDefault;
    watcher.start();
    try {
      assertFalse(ExactStatistics.columnarScan(df.select(selection.columnReferences())).isPresent(),
          "without " + ExactStatistics.PLAN_WIDE_SCANS + ", 150 columns are read as rows");
      byDefault = ExactStatistics.compute(df, selection);
    } finally {
      stop.set(true);
    }
    try {
      watcher.join();
    } catch (InterruptedException e) {
      throw new AssertionError(e);
    }
    assertEquals(List.of(), seen, "the session's codegen limit never changed");

    DatasetStatistics columnar;
    spark.conf().set(ExactStatistics.PLAN_WIDE_SCANS, "true"); // as the jobs set it on theirs
    try {
      assertTrue(ExactStatistics.columnarScan(df.select(selection.columnReferences())).isPresent(),
          "a scan of 150 columns is read as columnar batches");
      assertFalse(spark.conf().contains("spark.sql.codegen.maxFields"),
          "the session's codegen limit is left as it was");
      columnar = ExactStatistics.compute(df, selection);
    } finally {
      spark.conf().unset(ExactStatistics.PLAN_WIDE_SCANS);
    }

    DatasetStatistics byRows;
    spark.conf().set("spark.sql.parquet.enableVectorizedReader", "false");
    try {
      byRows = ExactStatistics.compute(spark.read().parquet(path), selection);
    } finally {
      spark.conf().unset("spark.sql.parquet.enableVectorizedReader");
    }
    assertEquals(byRows, columnar);
    assertEquals(byRows, byDefault);
    for (int j = 0; j < width; j += 37) {
      int column = j;
      double[] values = rows.stream().mapToDouble(row -> row.getDouble(column)).toArray();
      assertMoments(values, columnar.features().get(j).moments(), "c" + j);
    }
  }

  @Test
  void denseSparseCachedVectorsAndArraysAgree() {
    SplittableRandom r = new SplittableRandom(9);
    int d = 10;
    List<Row> vectors = new ArrayList<>();
    List<Row> arrays = new ArrayList<>();
    List<double[]> dense = new ArrayList<>();
    for (int i = 0; i < 5000; i++) {
      double[] v = new double[d];
      for (int k = 0; k < d; k++) {
        v[k] = r.nextInt(4) == 0 ? 0 : r.nextGaussian() * (k + 1) + 100 * k;
      }
      dense.add(v);
      vectors.add(RowFactory.create(i % 2 == 0 ? Vectors.dense(v) : Vectors.dense(v).compressed()));
      List<Double> boxed = new ArrayList<>();
      for (double x : v) {
        boxed.add(x);
      }
      arrays.add(RowFactory.create(boxed));
    }
    StructType vectorSchema = new StructType().add("v", new org.apache.spark.ml.linalg.VectorUDT());
    Dataset<Row> vdf = spark.createDataFrame(vectors, vectorSchema).repartition(4).cache();
    FeatureSelection vsel = FeatureSelection.resolve(vdf, null, "v");
    DatasetStatistics fromVectors = ExactStatistics.compute(vdf, vsel);
    Dataset<Row> adf = spark.createDataFrame(arrays,
        new StructType().add("v", DataTypes.createArrayType(DataTypes.DoubleType)));
    DatasetStatistics fromArrays =
        ExactStatistics.compute(adf, FeatureSelection.resolve(adf, null, "v"));
    assertEquals(fromVectors, fromArrays);
    for (int k = 0; k < d; k++) {
      int f = k;
      assertMoments(dense.stream().mapToDouble(v -> v[f]).toArray(),
          fromVectors.features().get(k).moments(), "v[" + k + "]");
    }
    DatasetStatistics channels = ExactStatistics.compute(vdf, vsel.withChannels(2));
    for (int c = 0; c < 2; c++) {
      int channel = c;
      assertMoments(dense.stream().flatMapToDouble(v -> java.util.Arrays.stream(v, channel * 5,
          channel * 5 + 5)).toArray(), channels.features().get(c).moments(), "channel " + c);
    }
    vdf.unpersist();
  }

  /**
   * The minibatch pass reads Spark's internal rows ({@link FeatureSelection#values(InternalRow,
   * double[])}); they give the values the external rows
   * give, for mixed scalar columns, dense and sparse vectors and arrays, and the same one-line
   * errors for nulls.
   */
  @Test
  void internalRowsGiveTheValuesOfRows() {
    SplittableRandom r = new SplittableRandom(3);
    List<Row> vectors = new ArrayList<>();
    List<Row> arrays = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      double[] v = new double[6];
      for (int k = 0; k < v.length; k++) {
        v[k] = r.nextInt(3) == 0 ? 0 : r.nextGaussian() + k;
      }
      vectors.add(RowFactory.create(i % 2 == 0 ? Vectors.dense(v) : Vectors.dense(v).toSparse()));
      List<Double> boxed = new ArrayList<>();
      for (double x : v) {
        boxed.add(x);
      }
      arrays.add(RowFactory.create(boxed));
    }
    Dataset<Row> scalars = spark.createDataFrame(mixedRows(300), MIXED).na().drop();
    Dataset<Row> vdf = spark.createDataFrame(vectors,
        new StructType().add("v", new org.apache.spark.ml.linalg.VectorUDT()));
    Dataset<Row> adf = spark.createDataFrame(arrays,
        new StructType().add("v", DataTypes.createArrayType(DataTypes.DoubleType)));
    for (Dataset<Row> df : List.of(scalars, vdf, adf)) {
      FeatureSelection selection = df == scalars ? FeatureSelection.resolve(df, List.of("i", "f",
          "l", "d", "m", "x"), null) : FeatureSelection.resolve(df, null, "v");
      Dataset<Row> projected = df.select(selection.projection());
      List<Row> external = projected.collectAsList();
      List<InternalRow> internal = projected.queryExecution().toRdd()
          .toJavaRDD().map(InternalRow::copy).collect();
      assertEquals(external.size(), internal.size());
      double[] out = new double[selection.vectorLength()];
      for (int i = 0; i < external.size(); i++) {
        selection.values(internal.get(i), out);
        double[] expected = selection.values(external.get(i));
        for (int k = 0; k < out.length; k++) {
          assertEquals(Double.doubleToLongBits(expected[k]), Double.doubleToLongBits(out[k]),
              selection.kind() + " row " + i + " value " + k);
        }
      }
    }
    Dataset<Row> withNull = spark.createDataFrame(List.of(RowFactory.create((Object) null)),
        new StructType().add("v", new org.apache.spark.ml.linalg.VectorUDT()));
    FeatureSelection vsel = FeatureSelection.resolve(vdf, null, "v");
    InternalRow nullRow = withNull.select(vsel.projection())
        .queryExecution().toRdd().toJavaRDD().map(InternalRow::copy)
        .first();
    InputException e = assertThrows(
        InputException.class, () -> vsel.values(nullRow, new double[6]));
    assertEquals("column 'v' has a null vector", e.getMessage());
  }
}
