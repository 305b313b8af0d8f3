package io.normstats.onnx.spark;

import io.normstats.onnx.LayerRecalibration;
import io.normstats.onnx.RecalibrationResult;
import io.normstats.spark.FeatureSelection;
import io.normstats.spark.input.InputFormat;
import io.normstats.spark.input.Inputs;
import io.normstats.spark.OrderedInput;
import static io.normstats.testing.ExactOracle.assertNearest;
import static io.normstats.testing.ExactOracle.assertNearestFloat;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.normstats.exact.ExactMoments;
import io.normstats.onnx.BatchNormLayer;
import io.normstats.onnx.NetworkInput;
import io.normstats.onnx.NetworkSession;
import io.normstats.onnx.OnnxModel;
import io.normstats.onnx.SegmentSession;
import io.normstats.testing.ExactOracle;
import io.normstats.testing.IdxFiles;
import io.normstats.testing.OnnxGraphs;
import io.normstats.testing.TestSpark;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bottom-up recalibration on Spark against an oracle: every level's statistics are the correctly
 * rounded exact statistics (BigDecimal) of the activations ONNX Runtime computes for the same rows
 * in one session, with the levels below replaced; the same for one_pass and precise_bn.
 */
class NetworkRecalibrationTest {
  private static final int ROWS = 200;
  private static SparkSession spark;
  private static double[][] images;
  @TempDir static Path dir;

  @BeforeAll
  static void start() throws Exception {
    spark = TestSpark.session("NetworkRecalibrationTest");
    images = Arrays.copyOf(IdxFiles.readGzipImages(
        Path.of("sample-data/fashion-mnist/t10k-images-idx3-ubyte.gz")), ROWS);
    // three files, so the input has splits of its own (read in the order of the file names)
    Files.createDirectories(dir.resolve("images"));
    int[] cut = {0, 70, 71, ROWS};
    for (int f = 0; f < 3; f++) {
      int[][] part = new int[cut[f + 1] - cut[f]][];
      for (int i = 0; i < part.length; i++) {
        part[i] = Arrays.stream(images[cut[f] + i]).mapToInt(v -> (int) v).toArray();
      }
      IdxFiles.writeImages(dir.resolve("images/part-" + f + "-images-idx3-ubyte.gz"), 28, 28, part,
          true);
    }
  }

  private static RecalibrationResult recalibrate(String path, Integer partitions,
      int batchSize, int preciseBatch) {
    OrderedInput input = Inputs.readOrdered(spark, path, InputFormat.IDX);
    FeatureSelection selection = Inputs.select(spark, path, InputFormat.IDX, input.data(), null,
        null, false);
    OnnxModel model = OnnxModel.parse(OnnxGraphs.sampleModelBytes(), "sample");
    return NetworkRecalibration.withApproximations(input, selection, partitions, model,
        new NetworkRecalibration.Settings(null, batchSize, false, preciseBatch));
  }

  /** Values per channel of each captured tensor, for the rows run in batches of {@code batch}. */
  private static List<double[][]> activations(OnnxModel model, List<BatchNormLayer> layers,
      int batch) {
    OnnxModel.Capture capture = model.capturing(layers.stream().map(BatchNormLayer::input)
        .toList());
    NetworkInput in = model.input(null);
    List<List<Double>[]> values = new ArrayList<>();
    for (BatchNormLayer l : layers) {
      @SuppressWarnings({"unchecked", "rawtypes"})
      List<Double>[] channels = new List[l.channels()];
      for (int c = 0; c < channels.length; c++) {
        channels[c] = new ArrayList<>();
      }
      values.add(channels);
    }
    try (NetworkSession s = new NetworkSession(capture.model().toByteArray(), "sample", in,
        in.itemShape(784), capture.outputs(), batch)) {
      for (int start = 0; start < ROWS; start += batch) {
        int n = Math.min(batch, ROWS - start);
        if (n == 1) {
          break; // as precise_bn: a last minibatch of one row is left out
        }
        for (int i = 0; i < n; i++) {
          System.arraycopy(images[start + i], 0, s.rows(), i * 784, 784);
        }
        s.run(n);
        for (int k = 0; k < layers.size(); k++) {
          long[] shape = s.shape(k);
          int c = (int) shape[1];
          int spatial = (int) (Arrays.stream(shape).skip(2).reduce(1, (a, b) -> a * b));
          float[] data = s.floats(k);
          for (int i = 0; i < n; i++) {
            for (int ch = 0; ch < c; ch++) {
              for (int p = 0; p < spatial; p++) {
                values.get(k)[ch].add((double) data[(i * c + ch) * spatial + p]);
              }
            }
          }
        }
      }
    }
    List<double[][]> out = new ArrayList<>();
    for (List<Double>[] channels : values) {
      double[][] v = new double[channels.length][];
      for (int c = 0; c < v.length; c++) {
        v[c] = channels[c].stream().mapToDouble(Double::doubleValue).toArray();
      }
      out.add(v);
    }
    return out;
  }

  /** The first ROWS images as one float tensor [ROWS, 1, 28, 28]. */
  private static SegmentSession.Tensor imagesTensor() {
    java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(ROWS * 784 * 4)
        .order(java.nio.ByteOrder.nativeOrder());
    for (int i = 0; i < ROWS; i++) {
      for (int p = 0; p < 784; p++) {
        b.putFloat((float) images[i][p]);
      }
    }
    return new SegmentSession.Tensor(1, new long[] {ROWS, 1, 28, 28}, b.array());
  }

  /** A float tensor [N, C, ...] as the values of each channel. */
  private static double[][] perChannel(SegmentSession.Output t) {
    long[] shape = t.shape();
    int n = (int) shape[0];
    int c = (int) shape[1];
    int spatial = (int) Arrays.stream(shape).skip(2).reduce(1, (a, b) -> a * b);
    float[] data = t.floats(null);
    double[][] out = new double[c][n * spatial];
    for (int i = 0; i < n; i++) {
      for (int ch = 0; ch < c; ch++) {
        for (int p = 0; p < spatial; p++) {
          out[ch][i * spatial + p] = data[(i * c + ch) * spatial + p];
        }
      }
    }
    return out;
  }

  private static void assertExact(double[][] values, ExactMoments[] moments, String what) {
    assertEquals(values.length, moments.length, what);
    for (int c = 0; c < values.length; c++) {
      ExactOracle.Exact e = ExactOracle.Exact.of(values[c]);
      BigDecimal n = BigDecimal.valueOf(e.n());
      assertEquals(e.n(), moments[c].count(), what);
      assertNearest(e.sum(), n, moments[c].mean(), what + " mean, channel " + c);
      assertNearest(e.varianceNumerator(), n.multiply(n), moments[c].varPop(),
          what + " var_pop, channel " + c);
      assertNearestFloat(e.sum(), n, moments[c].meanToFloat(), what + " float mean " + c);
      assertNearestFloat(e.varianceNumerator(), n.multiply(n), moments[c].varPopToFloat(),
          what + " float var_pop " + c);
    }
  }

  @Test
  void everyLevelMatchesTheOracleOfItsPrunedModel() {
    RecalibrationResult r = recalibrate(dir.resolve("images").toString(), null, 64, 32);
    OnnxModel model = OnnxModel.parse(OnnxGraphs.sampleModelBytes(), "sample");
    List<BatchNormLayer> layers = model.batchNorms();
    assertEquals(ROWS, r.rows());
    assertEquals(3, r.levels());
    assertEquals(3, r.passes());
    Map<String, double[][]> below = new LinkedHashMap<>();
    List<OnnxModel.Capture> segments = new ArrayList<>();
    List<List<String>> inputs = new ArrayList<>();
    List<String> previousCut = List.of();
    List<Integer> cutTypes = new ArrayList<>();
    for (int k = 0; k < layers.size(); k++) {
      BatchNormLayer layer = layers.get(k);
      LayerRecalibration got = r.layers().get(k);
      assertEquals(layer.node(), got.layer().node());
      // the oracle: all rows in one batch through the segments of the levels so far (each from
      // the previous cut, OnnxModel.cut, to its BatchNorm inputs and the next cut), the levels
      // below replaced
      OnnxModel upstream = below.isEmpty() ? model : model.withStatistics(below);
      List<String> outputs = new ArrayList<>(List.of(layer.input()));
      List<String> cut = k == layers.size() - 1 ? List.of() : model.cut(layer.level());
      outputs.addAll(cut);
      Map<String, Integer> from = new LinkedHashMap<>();
      for (int j = 0; j < previousCut.size(); j++) {
        from.put(previousCut.get(j), cutTypes.get(j));
      }
      OnnxModel.Capture segment = upstream.slice(from, outputs);
      segments.add(segment);
      inputs.add(from.isEmpty() ? List.of("image") : List.copyOf(previousCut));
      List<? extends SegmentSession.Value> tensors = List.of(imagesTensor());
      List<SegmentSession.Output> out = null;
      for (int j = 0; j < segments.size(); j++) {
        try (SegmentSession s = new SegmentSession(segments.get(j).model().toByteArray(), "seg",
            inputs.get(j), segments.get(j).outputs())) {
          // copies: a session's outputs may be views of its memory
          out = s.run(tensors).stream().map(o -> new SegmentSession.Output(o.elemType(),
              o.shape(), java.nio.ByteBuffer.wrap(o.toBytes()))).toList();
        }
        tensors = out.subList(1, out.size());
      }
      cutTypes.clear();
      tensors.forEach(t -> cutTypes.add(t.elemType()));
      previousCut = cut;
      double[][] values = perChannel(out.get(0));
      assertExact(values, got.exact(), layer.node());
      double[][] written = got.written();
      for (int c = 0; c < layer.channels(); c++) {
        assertEquals(got.exact()[c].meanToFloat(), (float) written[0][c]);
        assertEquals(got.exact()[c].varPopToFloat(), (float) written[1][c]);
      }
      below.put(layer.node(), written);
    }
    // the written model holds those statistics, and nothing else changed
    OnnxModel recalibrated = OnnxModel.parse(r.recalibrated().toByteArray(), "written");
    for (int k = 0; k < layers.size(); k++) {
      assertArrayEquals(r.layers().get(k).written()[0], recalibrated.batchNorms().get(k)
          .storedMean());
      assertArrayEquals(r.layers().get(k).written()[1], recalibrated.batchNorms().get(k)
          .storedVariance());
      assertArrayEquals(layers.get(k).scaleValues(), recalibrated.batchNorms().get(k)
          .scaleValues());
    }

    // one_pass: every input with the stored statistics upstream
    List<double[][]> onePass = activations(model, layers, ROWS);
    // precise_bn: the layers upstream in training mode, minibatches of 32 rows in input order
    List<double[][]> precise = activations(model.withBatchNormsInTrainingMode(), layers, 32);
    for (int k = 0; k < layers.size(); k++) {
      assertExact(onePass.get(k), r.layers().get(k).onePass(), "one_pass " + k);
      assertExact(precise.get(k), r.layers().get(k).preciseBn(), "precise_bn " + k);
    }
    // level 0 has nothing upstream: one_pass is exact there
    assertEquals(r.layers().get(0).exact()[3].varPop(), r.layers().get(0).onePass()[3].varPop());
  }

  @Test
  void partitioningsAndBatchSizesGiveTheSameBits() {
    String path = "sample-data/fashion-mnist/t10k-images-idx3-ubyte.gz";
    RecalibrationResult a = recalibrate(path, null, 64, 32);
    RecalibrationResult b = recalibrate(path, 7, 13, 32);
    assertEquals(10_000, a.rows());
    assertArrayEquals(a.recalibrated().toByteArray(), b.recalibrated().toByteArray());
    assertArrayEquals(a.onePass().toByteArray(), b.onePass().toByteArray());
    assertArrayEquals(a.preciseBn().toByteArray(), b.preciseBn().toByteArray());
    for (int k = 0; k < a.layers().size(); k++) {
      for (int c = 0; c < a.layers().get(k).exact().length; c++) {
        assertEquals(a.layers().get(k).exact()[c].varSamp(), b.layers().get(k).exact()[c]
            .varSamp());
      }
    }
  }

  /**
   * Partitions without rows ahead of the data, through the cached passes: such a task knows no
   * element type of the cut and must not decide the next segment's input types, whichever task
   * Spark hears from first (they did: ONNX Runtime refused the segment, "Invalid tensor data
   * type 0").
   */
  /** The test images as the recalibrate job reads them, with their feature selection. */
  private record Images(OrderedInput input, FeatureSelection selection) {}

  private static Images images() {
    String path = dir.resolve("images").toString();
    OrderedInput input = Inputs.readOrdered(spark, path, InputFormat.IDX);
    return new Images(input, Inputs.select(spark, path, InputFormat.IDX, input.data(), null, null,
        false));
  }

  @Test
  void partitionsWithoutRowsChangeNothing() throws Exception {
    Images images = images();
    OrderedInput input = images.input();
    FeatureSelection selection = images.selection();
    OnnxModel model = zooResNet();
    // four partitions without rows, then the input's
    JavaRDD<Row> rows = JavaSparkContext.fromSparkContext(spark.sparkContext())
        .<Row>parallelize(List.of(), 4).union(input.data().javaRDD());
    Dataset<Row> withEmpty = spark.createDataFrame(rows, input.data().schema());
    NetworkRecalibration.Settings settings = new NetworkRecalibration.Settings(null, 64, false,
        32, List.of(), 0, null, NetworkRecalibration.ActivationCache.ON);
    RecalibrationResult a = NetworkRecalibration.exact(input.data(), selection, model,
        settings);
    RecalibrationResult b = NetworkRecalibration.exact(withEmpty, selection, model,
        settings);
    assertEquals(ROWS, b.rows());
    assertArrayEquals(a.recalibrated().toByteArray(), b.recalibrated().toByteArray());
  }

  @Test
  void passesAreLevels() throws Exception {
    Images images = images();
    OrderedInput input = images.input();
    FeatureSelection selection = images.selection();
    OnnxModel model = OnnxModel.parse(OnnxGraphs.sampleModelBytes(), "sample");
    AtomicInteger jobs = new AtomicInteger();
    SparkListener listener = new SparkListener() {
      @Override
      public void onJobStart(SparkListenerJobStart jobStart) {
        jobs.incrementAndGet();
      }
    };
    spark.sparkContext().addSparkListener(listener);
    try {
      RecalibrationResult r = NetworkRecalibration.exact(input.data(), selection, model,
          new NetworkRecalibration.Settings(null, 64, true, 32));
      spark.sparkContext().listenerBus().waitUntilEmpty();
      assertEquals(3, jobs.get()); // one Spark job per level, nothing else
      assertEquals(3, r.passes());
      assertNull(r.onePass());
      assertNull(r.layers().get(1).preciseBn());
      // sample variance: the written variance is var_samp rounded to float
      ExactMoments m = r.layers().get(2).exact()[5];
      assertEquals(m.varSampToFloat(), (float) r.layers().get(2).written()[1][5]);
    } finally {
      spark.sparkContext().removeSparkListener(listener);
    }
  }

  /**
   * When the later passes spread the rows, by hand: tasks scheduled longest first on the cores
   * against the rows spread evenly (one core's share at least one batch), and 1.25 times that
   * at most.
   */
  @Test
  void rowsLaidOutUnevenlyAreSpreadOverTheCores() {
    // one Parquet row group: every row in one of two partitions, one core idle
    assertEquals(2, NetworkRecalibration.spreadOver(new long[] {10_000, 0}, 2, 64));
    assertEquals(0, NetworkRecalibration.spreadOver(new long[] {5_000, 5_000}, 2, 64));
    // three partitions on two cores: 6,667 rows on one core against 5,000; four partitions
    assertEquals(4, NetworkRecalibration.spreadOver(new long[] {3_334, 3_333, 3_333}, 2, 64));
    // five on two: 3,000 against 2,500, 1.2 times, left as they are
    assertEquals(0, NetworkRecalibration.spreadOver(new long[] {1_000, 1_000, 1_000, 1_000,
        1_000}, 2, 64));
    assertEquals(0, NetworkRecalibration.spreadOver(new long[] {1_000, 1_000, 1_000, 1_000}, 2,
        64));
    // a single batch is not worth a shuffle: 60 rows against one batch of 64
    assertEquals(0, NetworkRecalibration.spreadOver(new long[] {60}, 2, 64));
    assertEquals(2, NetworkRecalibration.spreadOver(new long[] {100}, 2, 64));
    // one large partition among many on 8 cores: spread over 16
    long[] skewed = new long[10];
    Arrays.fill(skewed, 100);
    skewed[3] = 5_000;
    assertEquals(16, NetworkRecalibration.spreadOver(skewed, 8, 64));
  }

  /** A stage Spark completed: its tasks, whether it is a shuffle map stage, and its name. */
  private record Stage(int tasks, boolean map, String name) {}

  /** Runs {@code job}, adding the stages Spark completes meanwhile to {@code stages}, in order. */
  private static <T> T recordingStages(List<Stage> stages, java.util.function.Supplier<T> job)
      throws java.util.concurrent.TimeoutException {
    List<Stage> seen = java.util.Collections.synchronizedList(new ArrayList<>());
    SparkListener listener = new SparkListener() {
      @Override
      public void onStageCompleted(org.apache.spark.scheduler.SparkListenerStageCompleted s) {
        seen.add(new Stage(s.stageInfo().numTasks(), s.stageInfo().shuffleDepId().isDefined(),
            s.stageInfo().name()));
      }
    };
    spark.sparkContext().listenerBus().waitUntilEmpty();
    spark.sparkContext().addSparkListener(listener);
    try {
      T result = job.get();
      spark.sparkContext().listenerBus().waitUntilEmpty();
      return result;
    } finally {
      spark.sparkContext().removeSparkListener(listener);
      stages.addAll(seen);
    }
  }

  /**
   * Rows in one partition on two cores are spread before the first pass (the input read once,
   * by the spread's one map task; every pass two tasks); rows in three even partitions on two
   * cores run the first pass as they lie (three tasks) and the later passes spread over four
   * (recomputing the first cut rather than reading it cached in three partitions). Both with the
   * bits of the input read in two partitions, with the cache on and off.
   */
  @Test
  void rowsLaidOutForFewerCoresAreSpreadWithTheSameBits() throws Exception {
    Images images = images();
    FeatureSelection selection = images.selection();
    OnnxModel model = zooResNet();
    Dataset<Row> two = images.input().data();
    Dataset<Row> one = two.coalesce(1);
    Dataset<Row> three = two.repartition(3);
    assertEquals(1, one.rdd().getNumPartitions());
    assertEquals(3, three.rdd().getNumPartitions());
    for (NetworkRecalibration.ActivationCache cache : List.of(
        NetworkRecalibration.ActivationCache.ON, NetworkRecalibration.ActivationCache.OFF)) {
      RecalibrationResult lying = NetworkRecalibration.exact(two, selection, model,
          settings(cache));
      for (Dataset<Row> input : List.of(one, three)) {
        List<Stage> stages = new ArrayList<>();
        RecalibrationResult spread = recordingStages(stages,
            () -> NetworkRecalibration.exact(input, selection, model, settings(cache)));
        String what = cache + ", " + input.rdd().getNumPartitions() + " partition(s): " + stages;
        assertEquals(ROWS, spread.rows(), what);
        assertArrayEquals(lying.recalibrated().toByteArray(),
            spread.recalibrated().toByteArray(), what);
        List<Integer> passes = stages.stream().filter(st -> !st.map()).map(Stage::tasks)
            .toList();
        assertEquals(spread.passes(), passes.size(), what);
        if (input == one) {
          assertEquals(List.of(1), stages.stream().filter(Stage::map).map(Stage::tasks)
              .toList(), what);
          assertTrue(passes.stream().allMatch(n -> n == 2), what);
        } else {
          assertEquals(3, passes.get(0), what);
          assertTrue(passes.subList(1, passes.size()).stream().allMatch(n -> n == 4), what);
        }
      }
    }
  }

  /**
   * With one_pass, the first pass runs the whole graph: the rows are counted per partition first
   * and, lying unevenly (the three files' 70, 1 and 129 rows), spread before it. The stages: the
   * count (one task a partition), the spread's map stage, then the first pass on the spread rows.
   * The same bits as the rows repartitioned by the caller (then never spread).
   */
  @Test
  void rowsLaidOutUnevenlyAreSpreadBeforeAFirstPassOfTheWholeGraph() throws Exception {
    Images images = images();
    OnnxModel model = zooResNet();
    NetworkRecalibration.Settings on = settings(NetworkRecalibration.ActivationCache.ON);
    JavaRDD<Row> rows = images.input().data().javaRDD();
    int inputPartitions = rows.getNumPartitions();
    long[] counts = rows.glom().map(List::size).collect().stream().mapToLong(n -> n).toArray();
    int spreadOver = NetworkRecalibration.spreadOver(counts, 2, 64);
    assertTrue(inputPartitions >= 2 && spreadOver > 0, Arrays.toString(counts));
    RecalibrationResult chosen = NetworkRecalibration.withApproximations(images.input(),
        images.selection(), 2, model, on);
    List<Stage> stages = new ArrayList<>();
    RecalibrationResult spread = recordingStages(stages, () ->
        NetworkRecalibration.withApproximations(images.input(), images.selection(), null, model,
            on));
    String what = Arrays.toString(counts) + ": " + stages;
    assertTrue(stages.get(0).name().startsWith("collect at NetworkRecalibration"), what);
    assertTrue(stages.get(2).name().startsWith("foreachPartition at NetworkPasses"), what);
    assertEquals(inputPartitions, stages.get(0).tasks(), what);
    assertFalse(stages.get(0).map(), what);
    assertEquals(inputPartitions, stages.get(1).tasks(), what);
    assertTrue(stages.get(1).map(), what);
    assertEquals(spreadOver, stages.get(2).tasks(), what);
    assertFalse(stages.get(2).map(), what);
    assertArrayEquals(chosen.recalibrated().toByteArray(), spread.recalibrated().toByteArray());
    for (int j = 0; j < chosen.layers().size(); j++) {
      LayerRecalibration x = chosen.layers().get(j);
      LayerRecalibration y = spread.layers().get(j);
      for (int ch = 0; ch < x.exact().length; ch++) {
        assertEquals(x.onePass()[ch].mean(), y.onePass()[ch].mean(), 0.0, x.layer().node());
        assertEquals(x.onePass()[ch].varPop(), y.onePass()[ch].varPop(), 0.0, x.layer().node());
        assertEquals(x.preciseBn()[ch].varPop(), y.preciseBn()[ch].varPop(), 0.0,
            x.layer().node());
      }
    }
  }

  /** The rule of the activation cache, by hand: passes, rows, bytes per row and the budget. */
  @Test
  void theActivationCacheRule() {
    NetworkRecalibration.ActivationCache auto = NetworkRecalibration.ActivationCache.AUTO;
    NetworkRecalibration.ActivationCache on = NetworkRecalibration.ActivationCache.ON;
    NetworkRecalibration.ActivationCache off = NetworkRecalibration.ActivationCache.OFF;
    // on: every cut but the last pass's, whatever its size; off: none
    assertTrue(on.persists(0, 3, -1, 0, 0, 0));
    assertTrue(on.persists(1, 3, 10, Long.MAX_VALUE / 4, 0, 0));
    assertFalse(on.persists(2, 3, 10, 0, 0, Long.MAX_VALUE));
    assertFalse(off.persists(1, 3, 10, 1, 0, Long.MAX_VALUE));
    // auto: never the first cut, nor the last pass's; two passes run as off
    assertFalse(auto.persists(0, 3, -1, 1, 0, Long.MAX_VALUE));
    assertFalse(auto.persists(0, 3, 10, 1, 0, Long.MAX_VALUE));
    assertFalse(auto.persists(1, 2, 10, 1, 0, Long.MAX_VALUE));
    assertFalse(auto.persists(2, 3, 10, 1, 0, Long.MAX_VALUE));
    assertFalse(auto.persists(1, 3, 10, -1, 0, Long.MAX_VALUE)); // not measured
    // 10 rows of 100 bytes: 1,000 bytes, alone or beside a cached cut of 50 bytes a row
    assertTrue(auto.persists(1, 3, 10, 100, 0, 1000));
    assertFalse(auto.persists(1, 3, 10, 100, 0, 999));
    assertFalse(auto.persists(2, 4, 10, 100, 50, 1499));
    assertTrue(auto.persists(2, 4, 10, 100, 50, 1500));
    // ImageNet's first ResNet cut after its first level: 3.2 MB a row, 1.28 million rows
    assertFalse(auto.persists(1, 17, 1_281_167, 3_211_264, 0, 100L << 30));
    assertTrue(auto.persists(1, 17, 20_000, 3_211_264, 0, 100L << 30));
  }

  @Test
  void theDiskBudgetIsHalfOfSparksLocalDirectories() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue(System.getenv("SPARK_LOCAL_DIRS") == null);
    Path a = dir.resolve("local-a");
    Files.createDirectories(a);
    // one directory: half its free space; two (one not created yet) on the same disk: all of it
    long one = NetworkRecalibration.diskBudget(new org.apache.spark.SparkConf(false)
        .set("spark.local.dir", a.toString()));
    long two = NetworkRecalibration.diskBudget(new org.apache.spark.SparkConf(false)
        .set("spark.local.dir", a + "," + dir.resolve("local-b/not-yet")));
    long free = a.toFile().getUsableSpace();
    assertEquals(free / 2.0, one, free * 0.01);
    assertEquals(free, two, free * 0.01);
  }

  /**
   * With a disk budget that holds some cuts and not others, auto caches those that fit and the
   * next pass recomputes the others from the input: the same bits as recomputing every cut.
   */
  @Test
  void autoCachesTheCutsThatFitWithTheBitsOfRecomputing() throws Exception {
    Images images = images();
    FeatureSelection selection = images.selection();
    OnnxModel model = zooResNet();
    NetworkInput input = model.input(null);
    List<Integer> levels = model.batchNorms().stream().map(BatchNormLayer::level).distinct()
        .sorted().toList();
    long[] perRow = NetworkRecalibration.cutBytesPerRow(model, input,
        input.itemShape(selection.vectorLength()), NetworkRecalibration.cuts(model, levels));
    // the budget of the median cut: the larger cuts (and pairs) do not fit, the smaller do
    long[] inner = Arrays.copyOfRange(perRow, 1, perRow.length - 1);
    long[] sorted = inner.clone();
    Arrays.sort(sorted);
    long budget = ROWS * sorted[sorted.length / 2];
    int cached = 0;
    long previous = 0;
    for (int i = 1; i < levels.size() - 1; i++) {
      boolean p = NetworkRecalibration.ActivationCache.AUTO.persists(i, levels.size(), ROWS,
          perRow[i], previous, budget);
      cached += p ? 1 : 0;
      previous = p ? perRow[i] : 0;
    }
    assertTrue(cached > 0 && cached < levels.size() - 2, "a plan of cached and recomputed cuts: "
        + Arrays.toString(perRow));
    java.util.function.ToLongFunction<org.apache.spark.SparkConf> before =
        NetworkRecalibration.budgetOf;
    NetworkRecalibration.budgetOf = conf -> budget;
    try {
      RecalibrationResult auto = NetworkRecalibration.exact(images.input().data(), selection,
          model, settings(NetworkRecalibration.ActivationCache.AUTO));
      RecalibrationResult off = NetworkRecalibration.exact(images.input().data(), selection,
          model, settings(NetworkRecalibration.ActivationCache.OFF));
      assertEquals(ROWS, auto.rows());
      assertArrayEquals(off.recalibrated().toByteArray(), auto.recalibrated().toByteArray());
    } finally {
      NetworkRecalibration.budgetOf = before;
    }
  }

  /**
   * A model over 2 GB, played by the zoo's ResNet with the inline limit lowered under its size:
   * its largest tensors stay external and reach ONNX Runtime as external initializers, and
   * everything it computes (exact statistics with the cache on and off, one_pass, precise_bn) is
   * what the same model gives read whole; the written pair (model.onnx and model.onnx.data) reads
   * back as the model the whole one writes.
   */
  @Test
  void aModelOver2GbKeepsItsLargeTensorsExternalAndComputesTheSame() throws Exception {
    Images images = images();
    org.apache.hadoop.conf.Configuration conf = spark.sparkContext().hadoopConfiguration();
    String path = "sample-data/zoo/resnet/dynamo.onnx";
    OnnxModel whole = ModelFiles.read(conf, path, "resnet");
    OnnxModel large;
    // a limit 100 KB under the model's size: its largest tensors stay external
    System.setProperty("normstats.onnx.inlineLimit",
        Long.toString(whole.toByteArray().length - 100_000));
    try {
      large = ModelFiles.read(conf, path, "resnet");
    } finally {
      System.clearProperty("normstats.onnx.inlineLimit");
    }
    assertTrue(whole.external().isEmpty());
    assertTrue(large.external().bytes() >= 100_000, "tensors kept external");
    assertTrue(large.toByteArray().length <= whole.toByteArray().length - 100_000);
    NetworkRecalibration.Settings on = settings(NetworkRecalibration.ActivationCache.ON);
    RecalibrationResult a = NetworkRecalibration.withApproximations(images.input(),
        images.selection(), null, whole, on);
    RecalibrationResult b = NetworkRecalibration.withApproximations(images.input(),
        images.selection(), null, large, on);
    RecalibrationResult c = NetworkRecalibration.exact(images.input().data(), images.selection(),
        large, settings(NetworkRecalibration.ActivationCache.OFF));
    for (int j = 0; j < a.layers().size(); j++) {
      LayerRecalibration x = a.layers().get(j);
      for (LayerRecalibration y : List.of(b.layers().get(j), c.layers().get(j))) {
        assertArrayEquals(x.written()[0], y.written()[0], x.layer().node());
        assertArrayEquals(x.written()[1], y.written()[1], x.layer().node());
      }
      LayerRecalibration y = b.layers().get(j);
      for (int ch = 0; ch < x.exact().length; ch++) {
        assertEquals(x.onePass()[ch].varPop(), y.onePass()[ch].varPop(), 0.0);
        assertEquals(x.preciseBn()[ch].mean(), y.preciseBn()[ch].mean(), 0.0);
      }
    }
    Path out = dir.resolve("large");
    Files.createDirectories(out);
    try (java.io.OutputStream m = Files.newOutputStream(out.resolve("model.onnx"));
        java.io.OutputStream d = Files.newOutputStream(out.resolve("model.onnx.data"))) {
      b.recalibrated().write(m, "model.onnx.data", d);
    }
    assertTrue(Files.size(out.resolve("model.onnx.data")) >= large.external().bytes());
    OnnxModel back = ModelFiles.read(conf, out.resolve("model.onnx").toString(), "written");
    assertArrayEquals(a.recalibrated().toByteArray(), back.toByteArray());
  }

  /** The zoo's ResNet as PyTorch's default exporter writes it (13 levels). */
  private static OnnxModel zooResNet() throws java.io.IOException {
    return ModelFiles.read(spark.sparkContext().hadoopConfiguration(),
        "sample-data/zoo/resnet/dynamo.onnx", "resnet");
  }

  private static NetworkRecalibration.Settings settings(NetworkRecalibration.ActivationCache c) {
    return new NetworkRecalibration.Settings(null, 64, false, 32, List.of(), 0, null, c);
  }
}
