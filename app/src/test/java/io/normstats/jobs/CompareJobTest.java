package io.normstats.jobs;

import static io.normstats.testing.StatsJson.num;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.normstats.minibatch.CompareSettings;
import io.normstats.minibatch.Comparison;
import io.normstats.output.CompareOutput;
import io.normstats.spark.ExactStatistics;
import io.normstats.spark.FeatureSelection;
import io.normstats.spark.input.IdxSource;
import io.normstats.spark.MinibatchComparison;
import io.normstats.spark.OrderedInput;
import io.normstats.testing.IdxFiles;
import io.normstats.testing.SequentialBatchNorm;
import io.normstats.testing.SequentialBatchNorm.Estimate;
import io.normstats.testing.Jobs;
import io.normstats.testing.TestSpark;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The compare job end to end in-process (local[2], one SparkSession), against the sequential
 * simulation of training in {@link SequentialBatchNorm}.
 */
class CompareJobTest {
  private static SparkSession spark;
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int N = 997;
  private static double[][] rows;
  private static Path csvDir;

  @TempDir static Path tmp;

  @BeforeAll
  static void start() throws IOException {
    spark = TestSpark.session("CompareJobTest");
    rows = SequentialBatchNorm.sampleRows(N, 11);
    // three CSV files: the input order is the files by name, then the rows in each
    csvDir = tmp.resolve("csv");
    Files.createDirectories(csvDir);
    int[] cuts = {0, 300, 301, N};
    for (int f = 0; f + 1 < cuts.length; f++) {
      StringBuilder sb = new StringBuilder(String.join(",", SequentialBatchNorm.SAMPLE_COLUMNS))
          .append('\n');
      for (int i = cuts[f]; i < cuts[f + 1]; i++) {
        sb.append(rows[i][0]).append(',').append(rows[i][1]).append(',').append(rows[i][2])
            .append(',').append(rows[i][3]).append('\n');
      }
      Files.writeString(csvDir.resolve("part-" + f + ".csv"), sb);
    }
  }

  @AfterAll
  static void stop() {
    spark.stop();
  }

  private static Jobs.Run compare(String... args) {
    return Jobs.run("compare", args);
  }

  private static JsonNode run(Path input, Path out, String... options) throws IOException {
    List<String> args = new ArrayList<>(List.of("--input", input.toString(), "--output",
        out.toString()));
    args.addAll(Arrays.asList(options));
    Jobs.Run run = compare(args.toArray(new String[0]));
    assertEquals(0, run.exitCode(), run.stderr());
    return JSON.readTree(out.resolve("compare.json").toFile());
  }

  @Test
  void everyEstimatorMatchesSequentialTraining() throws IOException {
    CompareSettings s = CompareSettings.builder(4, 16, 50).epochs(2).seed(3).tracePoints(9).build();
    JsonNode json = run(csvDir, tmp.resolve("out-ref"), "--batch-sizes", "4,16,50", "--epochs", "2",
        "--shuffle-seed", "3", "--trace-points", "9");
    checkAgainstReference(json, rows, s);
    assertTrue(Files.isDirectory(tmp.resolve("out-ref/compare.parquet")));
    Dataset<Row> table = spark.read().parquet(tmp.resolve("out-ref/compare.parquet").toString());
    assertEquals(3L * 6 * 4, table.count());
    // the Parquet table holds the JSON's numbers
    Row row = table.filter("batch_size = 16 AND estimator = 'ema-torch' AND name = 'trend'")
        .first();
    JsonNode f = feature(json, 16, "ema-torch", "trend");
    assertEquals(num(f.get("var")), row.getDouble(row.fieldIndex("var")));
    assertEquals(num(f.get("kl")), row.getDouble(row.fieldIndex("kl")));
  }

  @Test
  void inputOrderAndKeepLastMatchSequentialTraining() throws IOException {
    CompareSettings s = CompareSettings.builder(7, 64)
        .epochs(3).shuffle(false).dropLast(false).momentum(0.25).kerasMomentum(0.9).epsilon(1e-3)
        .tracePoints(5).renormRmax(2).renormDmax(1).build();
    JsonNode json = run(csvDir, tmp.resolve("out-noshuffle"), "--batch-sizes", "7,64",
        "--epochs", "3", "--no-shuffle", "--keep-last", "--momentum", "0.25", "--keras-momentum",
        "0.9", "--epsilon", "1e-3", "--trace-points", "5", "--renorm-rmax", "2",
        "--renorm-dmax", "1");
    checkAgainstReference(json, rows, s);
    // in input order the running mean ends near the end of the trend, far from its mean
    JsonNode shuffled = run(csvDir, tmp.resolve("out-shuffled-7"), "--batch-sizes", "7,64");
    assertTrue(num(feature(json, 7, "ema-torch", "trend").get("mean_err_in_std"))
        > 5 * num(feature(shuffled, 7, "ema-torch", "trend").get("mean_err_in_std")));
  }

  @Test
  void resultsDoNotDependOnHowTheInputIsSplitOrPartitioned() throws IOException {
    Path out1 = tmp.resolve("out-split-default");
    Path out2 = tmp.resolve("out-split-small");
    String[] options = {"--batch-sizes", "2,5,32", "--epochs", "2", "--shuffle-seed", "9"};
    String defaultSplits = spark.conf().get("spark.sql.files.maxPartitionBytes");
    int before = spark.read().option("header", "true").csv(csvDir.toString()).rdd()
        .getNumPartitions();
    run(csvDir, out1, options);
    spark.conf().set("spark.sql.files.maxPartitionBytes", "4096");
    spark.conf().set("spark.sql.files.openCostInBytes", "0");
    try {
      int after = spark.read().option("header", "true").csv(csvDir.toString()).rdd()
          .getNumPartitions();
      assertTrue(after > before + 5, "more splits: " + before + " -> " + after);
      run(csvDir, out2, options);
    } finally {
      spark.conf().set("spark.sql.files.maxPartitionBytes", defaultSplits);
      spark.conf().unset("spark.sql.files.openCostInBytes");
    }
    assertEquals(Files.readString(out1.resolve("compare.json")),
        Files.readString(out2.resolve("compare.json")));

    // IDX items read in 1 and in 7 partitions
    Path idx = tmp.resolve("images.idx3-ubyte.gz");
    Random r = new Random(4);
    int[][] images = new int[500][12];
    for (int[] image : images) {
      for (int k = 0; k < image.length; k++) {
        image[k] = r.nextInt(256);
      }
    }
    IdxFiles.writeImages(idx, 3, 4, images, true);
    CompareSettings s = CompareSettings.builder(3, 40).epochs(2).seed(1).tracePoints(20).build();
    assertEquals(idxCompareJson(idx, 1, s), idxCompareJson(idx, 7, s));
  }

  private static String idxCompareJson(Path idx, int partitions, CompareSettings s)
      throws IOException {
    Dataset<Row> withOrigin = IdxSource.read(spark, idx.toString(), partitions, true);
    assertEquals(partitions, withOrigin.rdd().getNumPartitions());
    OrderedInput input = new OrderedInput(withOrigin.select(IdxSource.COLUMN), withOrigin);
    FeatureSelection sel = FeatureSelection.resolve(input.data(), null, null);
    try (ExactStatistics.OrderedRows kept = ExactStatistics.computeOrderedKeepingRows(input, sel)) {
      Comparison.Result result = MinibatchComparison.compute(kept, sel, s);
      ByteArrayOutputStream bytes = new ByteArrayOutputStream();
      CompareOutput.writeJson(kept.ordered().result(), s, result, bytes);
      return bytes.toString(StandardCharsets.UTF_8);
    }
  }

  @Test
  void shuffledBatchesDifferBetweenSeedsAndEpochs() throws IOException {
    JsonNode seed1 = run(csvDir, tmp.resolve("out-seed1"), "--batch-sizes", "8", "--shuffle-seed",
        "1", "--trace-points", "4");
    JsonNode seed2 = run(csvDir, tmp.resolve("out-seed2"), "--batch-sizes", "8", "--shuffle-seed",
        "2", "--trace-points", "4");
    JsonNode twoEpochs = run(csvDir, tmp.resolve("out-seed1-e2"), "--batch-sizes", "8",
        "--shuffle-seed", "1", "--epochs", "2", "--trace-points", "4");
    for (String est : List.of("batch", "ema-torch", "ema-keras")) {
      assertNotEquals(num(feature(seed1, 8, est, "a").get("var")),
          num(feature(seed2, 8, est, "a").get("var")), est);
    }
    // With two epochs the second epoch's batches are new ones: were they a repeat of the first,
    // the mean of sigma2_B over batches would not change.
    assertNotEquals(num(feature(seed1, 8, "batch", "a").get("var")),
        num(feature(twoEpochs, 8, "batch", "a").get("var")));
    // the exact statistics do not depend on the order
    assertEquals(seed1.get("exact"), seed2.get("exact"));
  }

  @Test
  void vectorColumnsWork() throws IOException {
    Path json = tmp.resolve("vectors.json");
    StringBuilder sb = new StringBuilder();
    for (double[] row : rows) {
      sb.append("{\"v\": [").append(row[0]).append(',').append(row[1]).append(',').append(row[2])
          .append(',').append(row[3]).append("]}\n");
    }
    Files.writeString(json, sb);
    CompareSettings s = CompareSettings.builder(10).seed(5).tracePoints(3).build();
    JsonNode out = run(json, tmp.resolve("out-vectors"), "--vector-col", "v", "--batch-sizes", "10",
        "--shuffle-seed", "5", "--trace-points", "3");
    checkAgainstReference(out, rows, s);
    assertEquals("v[2]", out.get("results").get(0).get("features").get(2).get("name").asText());
  }

  @Test
  void badInputsFailWithOneLineAndWriteNothing() throws IOException {
    Path out = tmp.resolve("out-bad");
    Path nan = tmp.resolve("nan.json");
    Files.writeString(nan, "{\"x\": 1.0}\n{\"x\": NaN}\n{\"x\": 2.0}\n");
    Path withNull = tmp.resolve("null.json");
    Files.writeString(withNull, "{\"x\": 1.0}\n{\"x\": null}\n{\"x\": 2.0}\n");
    record Case(int code, String message, String[] args) {}
    List<Case> cases = List.of(
        new Case(2, "batch size 1 is below 2", new String[] {"--input", csvDir.toString(),
            "--batch-sizes", "8,1"}),
        new Case(2, "batch size 998 is larger than the input's 997 rows",
            new String[] {"--input", csvDir.toString(), "--batch-sizes", "8,998"}),
        new Case(2, "batch sizes must be given once each", new String[] {"--input",
            csvDir.toString(), "--batch-sizes", "8,8"}),
        new Case(2, "give either --shuffle-seed or --no-shuffle", new String[] {"--input",
            csvDir.toString(), "--no-shuffle", "--shuffle-seed", "3"}),
        new Case(2, "give either --drop-last or --keep-last", new String[] {"--input",
            csvDir.toString(), "--drop-last", "--keep-last"}),
        new Case(2, "momentum must be in (0, 1]: 1.5", new String[] {"--input", csvDir.toString(),
            "--momentum", "1.5"}),
        new Case(2, "Keras momentum must be in [0, 1): 1.0", new String[] {"--input",
            csvDir.toString(), "--keras-momentum", "1"}),
        new Case(2, "unknown column 'nope'", new String[] {"--input", csvDir.toString(),
            "--features", "a,nope"}),
        new Case(2, "does not exist", new String[] {"--input", tmp.resolve("nope").toString()}),
        new Case(1, "feature 'x' has 1 NaN or infinite and 0 null values; minibatch statistics "
            + "need complete rows", new String[] {"--input", nan.toString(), "--batch-sizes", "2"}),
        new Case(1, "feature 'x' has 0 NaN or infinite and 1 null values", new String[] {"--input",
            withNull.toString(), "--batch-sizes", "2"}));
    for (Case c : cases) {
      List<String> args = new ArrayList<>(Arrays.asList(c.args()));
      args.addAll(List.of("--output", out.toString()));
      Jobs.Run run = compare(args.toArray(new String[0]));
      assertEquals(c.code(), run.exitCode(), run.stderr());
      assertTrue(run.stderr().contains(c.message()), c.message() + " in: " + run.stderr());
      assertFalse(Files.exists(out), "nothing at the output for " + c.message());
      if (c.code() == 1 || c.message().contains("larger")) {
        assertEquals(1, run.stderr().strip().lines().count(), run.stderr());
      }
    }
    try (Stream<Path> left = Files.list(tmp)) {
      assertTrue(left.noneMatch(p -> p.getFileName().toString().contains(".normstats-")),
          "no staging directories left behind");
    }
  }

  private static JsonNode feature(JsonNode json, int m, String estimator, String name) {
    for (JsonNode r : json.get("results")) {
      if (r.get("batch_size").asInt() == m && r.get("estimator").asText().equals(estimator)) {
        for (JsonNode f : r.get("features")) {
          if (f.get("name").asText().equals(name)) {
            return f;
          }
        }
      }
    }
    throw new AssertionError("no " + estimator + " m=" + m + " " + name);
  }

  /** Every estimate against the sequential simulation, at 1e-12 relative. */
  static void checkAgainstReference(JsonNode json, double[][] data, CompareSettings s) {
    Estimate exact = SequentialBatchNorm.exact(data);
    int f = data[0].length;
    int checked = 0;
    for (int m : s.batchSizes()) {
      SequentialBatchNorm.Run ref = SequentialBatchNorm.run(data, m, s);
      for (JsonNode r : json.get("results")) {
        if (r.get("batch_size").asInt() != m) {
          continue;
        }
        String est = r.get("estimator").asText();
        Estimate e = switch (est) {
          case "ema-torch" -> ref.torch();
          case "ema-keras" -> ref.keras();
          case "cma" -> ref.cma();
          case "average" -> ref.average();
          case "precise" -> ref.preciseAccurate();
          case "batch" -> new Estimate(ref.batchMean(), ref.batchVar());
          default -> throw new AssertionError(est);
        };
        for (int j = 0; j < f; j++) {
          JsonNode fe = r.get("features").get(j);
          String what = est + " m=" + m + " feature " + j;
          near(e.mean()[j], num(fe.get("mean")), 1e-12, what + " mean");
          near(e.var()[j], num(fe.get("var")), 1e-12, what + " var");
          near(exact.mean()[j], num(fe.get("exact_mean")), 1e-15, what + " exact mean");
          checked++;
        }
      }
      for (JsonNode g : json.get("train_vs_predict")) {
        if (g.get("batch_size").asInt() == m) {
          for (int j = 0; j < f; j++) {
            JsonNode fg = g.get("features").get(j);
            near(ref.bnGap()[j], num(fg.get("bn_mse")), 1e-8, "bn gap m=" + m);
            assertEquals(ref.clipFraction()[j], num(fg.get("clip_fraction")), 0.0, "clips m=" + m);
          }
        }
      }
      for (JsonNode t : json.get("trace")) {
        if (t.get("batch_size").asInt() == m && t.get("estimator").asText().equals("ema-torch")) {
          JsonNode points = t.get("points");
          assertEquals(ref.checkpoints().length, points.size());
          int k = points.size() - 1;
          assertEquals(ref.checkpoints()[k], points.get(k).get("step").asLong());
          double worst = 0;
          for (int j = 0; j < f; j++) {
            worst = Math.max(worst, Math.abs(ref.torchTrace()[k].var()[j] - exact.var()[j])
                / exact.var()[j]);
          }
          near(worst, num(points.get(k).get("var_rel_err").get("max")), 1e-9, "trace max");
        }
      }
    }
    assertEquals(s.batchSizes().length * 6 * f, checked);
  }

  private static void near(double expected, double actual, double rel, String what) {
    assertTrue(Math.abs(expected - actual) <= rel * Math.abs(expected),
        what + ": expected " + expected + ", got " + actual);
  }
}
