package io.normstats.jobs;

import static io.normstats.testing.ExactOracle.assertMoments;
import static io.normstats.testing.StatsJson.moments;
import static io.normstats.testing.StatsJson.num;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.normstats.output.OutputDirectory;
import io.normstats.testing.IdxFiles;
import io.normstats.testing.Jobs;
import io.normstats.testing.TestSpark;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The stats job end to end in-process, on local[2] with one SparkSession for the class. */
class StatsJobTest {
  private static SparkSession spark;
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Path SAMPLE = Path.of("sample-data/fashion-mnist/t10k-images-idx3-ubyte.gz");

  @TempDir static Path tmp;

  /** Scalar test data: column name -> values (NaN marks a null in the nullable column). */
  private static final int N = 3000;
  private static double[] offset;
  private static double[] bigInts;
  private static double[] small;
  private static int[] counts;

  @BeforeAll
  static void start() {
    spark = TestSpark.session("StatsJobTest");
    SplittableRandom r = new SplittableRandom(99);
    offset = new double[N];
    bigInts = new double[N];
    small = new double[N];
    counts = new int[N];
    for (int i = 0; i < N; i++) {
      offset[i] = 1e9 + 10 * r.nextDouble();
      bigInts[i] = 0x1p50 + r.nextInt(-1000, 1000);
      small[i] = r.nextDouble(-1, 1) * 1e-310; // subnormal
      counts[i] = r.nextInt(-5, 100);
    }
  }

  @AfterAll
  static void stop() {
    spark.stop();
  }

  private static Jobs.Run stats(String... args) {
    return Jobs.run("stats", args);
  }

  private static JsonNode statsJson(Path dir) throws IOException {
    return JSON.readTree(dir.resolve("stats.json").toFile());
  }

  private static JsonNode feature(JsonNode stats, String name) {
    for (JsonNode f : stats.get("features")) {
      if (f.get("name").asText().equals(name)) {
        return f;
      }
    }
    throw new AssertionError("no feature " + name + " in " + stats);
  }

  private static Dataset<Row> scalarFrame() {
    StructType schema = new StructType()
        .add("id", DataTypes.StringType)
        .add("offset", DataTypes.DoubleType)
        .add("big ints", DataTypes.DoubleType)
        .add("small", DataTypes.DoubleType)
        .add("count", DataTypes.IntegerType);
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < N; i++) {
      rows.add(RowFactory.create("r" + i, offset[i], bigInts[i], small[i], counts[i]));
    }
    return spark.createDataFrame(rows, schema);
  }

  private static void assertScalarStats(JsonNode stats, String format) {
    assertEquals(N, stats.get("rows").asLong(), format);
    assertEquals(4, stats.get("features").size(), format + ": the string column is not a feature");
    assertMoments(offset, moments(feature(stats, "offset")), format + " offset");
    assertMoments(bigInts, moments(feature(stats, "big ints")), format + " big ints");
    assertMoments(small, moments(feature(stats, "small")), format + " small");
    assertMoments(Arrays.stream(counts).asDoubleStream().toArray(), moments(feature(stats, "count")),
        format + " count");
  }

  @Test
  void theLogNamesAFewColumnsOfAWideTable() {
    assertEquals("[a, b]", StatsJob.columnsForLog(List.of("a", "b")));
    List<String> wide = new ArrayList<>();
    for (int j = 0; j < 3000; j++) {
      wide.add("c" + j);
    }
    assertEquals("[c0, c1, c2, c3, c4, ..., c2998, c2999] (3000 columns)",
        StatsJob.columnsForLog(wide));
  }

  @Test
  void parquetCsvAndJsonInputsGiveTheExactStatistics() throws IOException {
    Dataset<Row> df = scalarFrame().repartition(3);
    Path parquet = tmp.resolve("scalars.parquet");
    Path csv = tmp.resolve("scalars.csv");
    Path json = tmp.resolve("scalars.json");
    df.write().parquet(parquet.toString());
    df.write().option("header", "true").csv(csv.toString());
    df.write().json(json.toString());
    JsonNode first = null;
    for (Path input : List.of(parquet, csv, json)) {
      Path out = tmp.resolve("out-" + input.getFileName());
      Jobs.Run run = stats("--input", input.toString(), "--output", out.toString());
      assertEquals(0, run.exitCode(), run.stderr());
      assertScalarStats(statsJson(out), input.getFileName().toString());
      // The same statistics, bit for bit, from every format (JSON orders its columns by name).
      JsonNode features = statsJson(out).get("features");
      if (first != null) {
        for (JsonNode f : features) {
          JsonNode expected = feature(first, f.get("name").asText());
          for (String field : List.of("count", "mean", "var_pop", "var_samp", "std_pop", "min")) {
            assertEquals(num(expected.get(field)), num(f.get(field)), field);
          }
        }
      }
      first = statsJson(out);
      // stats.parquet holds the same table.
      List<Row> table = spark.read().parquet(out.resolve("stats.parquet").toString())
          .orderBy("index").collectAsList();
      assertEquals(features.size(), table.size());
      for (int i = 0; i < table.size(); i++) {
        assertEquals(features.get(i).get("name").asText(), table.get(i).getAs("name"));
        assertEquals(num(features.get(i).get("var_pop")), (double) table.get(i).getAs("var_pop"));
        assertEquals(num(features.get(i).get("mean")), (double) table.get(i).getAs("mean"));
      }
    }
  }

  @Test
  void countMinMaxAgreeWithSparkAndSelectedFeaturesOnly() throws IOException {
    Path parquet = tmp.resolve("scalars-sel.parquet");
    scalarFrame().write().parquet(parquet.toString());
    Path out = tmp.resolve("out-sel");
    Jobs.Run run = stats("--input", parquet.toString(), "--features", "count,big ints", "--output",
        out.toString());
    assertEquals(0, run.exitCode(), run.stderr());
    JsonNode stats = statsJson(out);
    assertEquals(2, stats.get("features").size());
    assertEquals("count", stats.get("features").get(0).get("name").asText());
    assertEquals(0, stats.get("features").get(0).get("index").asInt());
    Row spark = scalarFrame().agg(functions.count("count"), functions.min("count"),
        functions.max("count")).first();
    JsonNode c = feature(stats, "count");
    assertEquals(spark.getLong(0), c.get("count").asLong());
    assertEquals(spark.getInt(1), c.get("min").asDouble());
    assertEquals(spark.getInt(2), c.get("max").asDouble());
  }

  @Test
  void vectorAndArrayColumnsGiveOneFeaturePerElement() throws IOException {
    SplittableRandom r = new SplittableRandom(3);
    int d = 5;
    int n = 400;
    double[][] columns = new double[d][n];
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      double[] v = new double[d];
      for (int j = 0; j < d; j++) {
        v[j] = r.nextInt(3) == 0 ? 0.0 : (float) r.nextDouble(-1e6, 1e6); // float-representable
        columns[j][i] = v[j];
      }
      Object vec = i % 2 == 0 ? Vectors.dense(v) : Vectors.dense(v).toSparse();
      Double[] boxed = Arrays.stream(v).boxed().toArray(Double[]::new);
      Float[] floats = new Float[d];
      for (int j = 0; j < d; j++) {
        floats[j] = (float) v[j];
      }
      rows.add(RowFactory.create(vec, boxed, floats));
    }
    StructType schema = new StructType()
        .add("vec", SQLDataTypes.VectorType())
        .add("arr", DataTypes.createArrayType(DataTypes.DoubleType))
        .add("farr", DataTypes.createArrayType(DataTypes.FloatType));
    Path input = tmp.resolve("vectors.parquet");
    spark.createDataFrame(rows, schema).repartition(3).write().parquet(input.toString());
    byte[] first = null;
    for (String col : List.of("vec", "arr", "farr")) {
      Path out = tmp.resolve("out-" + col);
      Jobs.Run run = stats("--input", input.toString(), "--vector-col", col, "--output", out.toString());
      assertEquals(0, run.exitCode(), run.stderr());
      JsonNode stats = statsJson(out);
      assertEquals(d, stats.get("features").size());
      for (int j = 0; j < d; j++) {
        JsonNode f = stats.get("features").get(j);
        assertEquals(col + "[" + j + "]", f.get("name").asText());
        assertMoments(columns[j], moments(f), col + "[" + j + "]");
      }
      byte[] bytes = Files.readAllBytes(out.resolve("stats.json"));
      String normalized = new String(bytes).replace(col + "[", "x[");
      if (first != null) {
        assertEquals(new String(first), normalized, col + " gives the same statistics");
      }
      first = normalized.getBytes();
    }
  }

  @Test
  void idxFilesPlainAndGzip() throws IOException {
    SplittableRandom r = new SplittableRandom(8);
    int[][] images = new int[57][12];
    double[][] pixels = new double[12][57];
    for (int i = 0; i < images.length; i++) {
      for (int p = 0; p < 12; p++) {
        images[i][p] = r.nextInt(256);
        pixels[p][i] = images[i][p];
      }
    }
    for (boolean gzip : new boolean[] {false, true}) {
      Path input = tmp.resolve("small-idx3-ubyte" + (gzip ? ".gz" : ""));
      IdxFiles.writeImages(input, 3, 4, images, gzip);
      Path out = tmp.resolve("out-idx-" + gzip);
      Jobs.Run run = stats("--input", input.toString(), "--partitions", "5", "--output", out.toString());
      assertEquals(0, run.exitCode(), run.stderr());
      JsonNode stats = statsJson(out);
      assertEquals(57, stats.get("rows").asLong());
      for (int p = 0; p < 12; p++) {
        assertMoments(pixels[p], moments(stats.get("features").get(p)), "pixel " + p);
      }
    }
  }

  @Test
  void partitioningDoesNotChangeASingleBit() throws IOException {
    assertSameStatsWith1And13Partitions(SAMPLE, "images");
    Path input = tmp.resolve("scalars-part.parquet");
    scalarFrame().write().parquet(input.toString());
    assertSameStatsWith1And13Partitions(input, "scalars");
  }

  private static void assertSameStatsWith1And13Partitions(Path input, String name)
      throws IOException {
    Path one = tmp.resolve(name + "-p1");
    Path thirteen = tmp.resolve(name + "-p13");
    assertEquals(0, stats("--input", input.toString(), "--partitions", "1", "--output",
        one.toString()).exitCode());
    assertEquals(0, stats("--input", input.toString(), "--partitions", "13", "--output",
        thirteen.toString()).exitCode());
    assertArrayEquals(Files.readAllBytes(one.resolve("stats.json")),
        Files.readAllBytes(thirteen.resolve("stats.json")));
  }

  private static Path writeJsonLines(String name, String... lines) throws IOException {
    Path p = tmp.resolve(name);
    Files.write(p, List.of(lines));
    return p;
  }

  @Test
  void invalidValuesStopTheJobOrAreSkippedAndCounted() throws IOException {
    Path csv = tmp.resolve("invalid.csv");
    Files.write(csv, List.of("a,b", "1.0,2.0", "NaN,3.0", ",4.0", "Inf,5.0", "2.0,"));
    Path out = tmp.resolve("out-invalid");
    Jobs.Run failed = stats("--input", csv.toString(), "--output", out.toString());
    assertEquals(1, failed.exitCode());
    assertTrue(failed.stderr().contains("feature 'a' has 2 NaN or infinite and 1 null values"),
        failed.stderr());
    assertTrue(failed.stderr().contains("1 more features"), failed.stderr());
    assertEquals(1, failed.stderr().strip().lines().count(), failed.stderr());
    assertFalse(Files.exists(out), "nothing written on error");

    Jobs.Run skipped = stats("--input", csv.toString(), "--handle-invalid", "skip", "--output", out.toString());
    assertEquals(0, skipped.exitCode(), skipped.stderr());
    JsonNode a = feature(statsJson(out), "a");
    assertEquals(2, a.get("nan_count").asLong());
    assertEquals(1, a.get("null_count").asLong());
    assertMoments(new double[] {1.0, 2.0}, moments(a), "a");
    JsonNode b = feature(statsJson(out), "b");
    assertEquals(1, b.get("null_count").asLong());
    assertMoments(new double[] {2, 3, 4, 5}, moments(b), "b");
  }

  @Test
  void undefinedStatisticsAreNull() throws IOException {
    Path input = tmp.resolve("one.parquet");
    StructType schema = new StructType().add("x", DataTypes.DoubleType).add("y", DataTypes.DoubleType);
    spark.createDataFrame(List.of(RowFactory.create(2.5, null)), schema).write()
        .parquet(input.toString());
    Path out = tmp.resolve("out-one");
    Jobs.Run run = stats("--input", input.toString(), "--handle-invalid", "skip", "--output", out.toString());
    assertEquals(0, run.exitCode(), run.stderr());
    JsonNode x = feature(statsJson(out), "x");
    assertEquals(2.5, x.get("mean").asDouble());
    assertEquals(0.0, x.get("var_pop").asDouble());
    assertTrue(x.get("var_samp").isNull() && x.get("std_samp").isNull());
    JsonNode y = feature(statsJson(out), "y");
    assertEquals(0, y.get("count").asLong());
    assertTrue(y.get("mean").isNull() && y.get("min").isNull() && y.get("var_pop").isNull());
  }

  @Test
  void badInputsFailWithOneLineAndWriteNothing() throws IOException {
    Path parquet = tmp.resolve("bad-in.parquet");
    scalarFrame().write().parquet(parquet.toString());
    Path out = tmp.resolve("out-bad");
    record Case(int code, String message, String[] args) {}
    List<Case> cases = List.of(
        new Case(2, "input " + tmp.resolve("nope.parquet") + " does not exist",
            new String[] {"--input", tmp.resolve("nope.parquet").toString()}),
        new Case(2, "unknown column 'nope'",
            new String[] {"--input", parquet.toString(), "--features", "offset,nope"}),
        new Case(2, "column 'id' is string, not numeric",
            new String[] {"--input", parquet.toString(), "--features", "id"}),
        new Case(2, "column 'offset' is double, not a vector",
            new String[] {"--input", parquet.toString(), "--vector-col", "offset"}),
        new Case(2, "--partitions must be at least 1",
            new String[] {"--input", parquet.toString(), "--partitions", "0"}),
        new Case(2, "Invalid value for option '--format'",
            new String[] {"--input", parquet.toString(), "--format", "xml"}));
    for (Case c : cases) {
      List<String> args = new ArrayList<>(Arrays.asList(c.args()));
      args.addAll(List.of("--output", out.toString()));
      Jobs.Run run = stats(args.toArray(new String[0]));
      assertEquals(c.code(), run.exitCode(), run.stderr());
      assertTrue(run.stderr().contains(c.message()), c.message() + " in: " + run.stderr());
      assertFalse(Files.exists(out), "nothing at the output for " + c.message());
    }
    // Vectors of different lengths: a data error.
    Path ragged = writeJsonLines("ragged.json", "{\"v\": [1.0, 2.0]}", "{\"v\": [3.0]}");
    Jobs.Run run = stats("--input", ragged.toString(), "--output", out.toString());
    assertEquals(1, run.exitCode(), run.stderr());
    assertTrue(run.stderr().contains("column 'v' has vectors of different lengths: 2"), run.stderr());
    assertEquals(1, run.stderr().strip().lines().count(), run.stderr());
    assertFalse(Files.exists(out));
    try (Stream<Path> left = Files.list(tmp)) {
      List<Path> staging = left.filter(p -> p.getFileName().toString().contains(".normstats-"))
          .toList();
      assertTrue(staging.isEmpty(), "staging directories left behind: " + staging);
    }
  }

  @Test
  void existingOutputIsRefusedUnlessOverwriteAndUserDataIsNeverClobbered() throws IOException {
    Path input = writeJsonLines("ow.json", "{\"x\": 1.0}", "{\"x\": 3.0}");
    Path out = tmp.resolve("out-ow");
    assertEquals(0, stats("--input", input.toString(), "--output", out.toString()).exitCode());
    Jobs.Run again = stats("--input", input.toString(), "--output", out.toString());
    assertEquals(2, again.exitCode());
    assertTrue(again.stderr().contains("already exists (pass --overwrite"), again.stderr());

    Path input2 = writeJsonLines("ow2.json", "{\"x\": 5.0}", "{\"x\": 7.0}");
    Jobs.Run overwrite = stats("--input", input2.toString(), "--output", out.toString(), "--overwrite");
    assertEquals(0, overwrite.exitCode(), overwrite.stderr());
    assertEquals(6.0, feature(statsJson(out), "x").get("mean").asDouble());

    Path userDir = tmp.resolve("precious");
    Files.createDirectories(userDir);
    Files.writeString(userDir.resolve("thesis.tex"), "years of work");
    Jobs.Run refused = stats("--input", input.toString(), "--output", userDir.toString(), "--overwrite");
    assertEquals(2, refused.exitCode());
    assertTrue(refused.stderr().contains("not a normstats output"), refused.stderr());
    assertEquals("years of work", Files.readString(userDir.resolve("thesis.tex")));

    Path inputDir = tmp.resolve("input-dir");
    Files.createDirectories(inputDir);
    Files.writeString(inputDir.resolve("d.json"), "{\"x\": 1.0}\n");
    Files.writeString(inputDir.resolve(OutputDirectory.MARKER), "stats\n");
    Jobs.Run self = stats("--input", inputDir.resolve("d.json").toString(), "--output",
        inputDir.toString(), "--overwrite");
    assertEquals(2, self.exitCode());
    assertTrue(self.stderr().contains("is or contains the input"), self.stderr());
    assertTrue(Files.exists(inputDir.resolve("d.json")));
  }

  @Test
  void readOptionsReachSparksReader() throws IOException {
    // a European CSV: ';' separates the fields
    Path semicolon = tmp.resolve("semicolon.csv");
    Files.writeString(semicolon, "a;b;note\n1.5;10;x\n2.5;30;z\n4.0;NA;w\n");
    Path comma = tmp.resolve("comma.csv");
    Files.writeString(comma, "a,b,note\n1.5,10,x\n2.5,30,z\n4.0,,w\n");
    Jobs.Run plain = stats("--input", semicolon.toString(), "--output",
        tmp.resolve("ro-plain").toString());
    assertEquals(2, plain.exitCode(), plain.stderr());
    assertTrue(plain.stderr().contains("no numeric or vector column in the input (columns: a;b;note:string)"),
        plain.stderr());
    Path withSep = tmp.resolve("ro-sep");
    Jobs.ok("stats", "--input", semicolon.toString(), "--read-option", "sep=;",
        "--read-option", "nullValue=NA", "--handle-invalid", "skip", "--output", withSep.toString());
    Path reference = tmp.resolve("ro-comma");
    Jobs.ok("stats", "--input", comma.toString(), "--handle-invalid", "skip", "--output",
        reference.toString());
    assertEquals(statsJson(reference).get("features"), statsJson(withSep).get("features"));
    assertEquals(1, statsJson(withSep).get("features").get(1).get("null_count").asInt());

    // JSON: one array spanning lines, which needs multiLine
    Path array = tmp.resolve("array.json");
    Files.writeString(array, "[\n {\"x\": 1.0},\n {\"x\": 2.0},\n {\"x\": 4.0}\n]\n");
    Path json = tmp.resolve("ro-json");
    Jobs.ok("stats", "--input", array.toString(), "--read-option", "multiLine=true",
        "--output", json.toString());
    JsonNode x = statsJson(json).get("features").get(0);
    assertEquals(3, x.get("count").asInt());
    assertEquals(7.0 / 3, x.get("mean").asDouble(), 0.0);

    // wrong keys and values: one line, exit code 2, nothing written
    Jobs.Run unknown = stats("--input", semicolon.toString(), "--read-option", "separator=;",
        "--output", tmp.resolve("ro-unknown").toString());
    assertEquals(2, unknown.exitCode());
    assertTrue(unknown.stderr().contains("--read-option separator: not an option of Spark's csv "
        + "reader"), unknown.stderr());
    Jobs.Run badValue = stats("--input", semicolon.toString(), "--read-option",
        "encoding=NO-SUCH-CHARSET", "--output", tmp.resolve("ro-bad").toString());
    assertEquals(2, badValue.exitCode());
    assertTrue(badValue.stderr().contains("NO-SUCH-CHARSET"), badValue.stderr());
    assertEquals(1, badValue.stderr().strip().lines().count(), badValue.stderr());
    Jobs.Run idx = stats("--input", SAMPLE.toString(), "--read-option", "sep=;",
        "--output", tmp.resolve("ro-idx").toString());
    assertEquals(2, idx.exitCode());
    assertTrue(idx.stderr().contains("IDX files take no reader options"), idx.stderr());
    for (String dir : List.of("ro-unknown", "ro-bad", "ro-idx")) {
      assertFalse(Files.exists(tmp.resolve(dir)), dir + " not written");
    }
  }

  @Test
  void groupByGivesEachGroupTheStatisticsOfItsRowsAlone() throws IOException {
    SplittableRandom r = new SplittableRandom(7);
    List<Row> rows = new ArrayList<>();
    String[] keys = {"a", "b", "c"};
    for (int i = 0; i < 600; i++) {
      String k = keys[i % 3];
      int d = i % 2;
      Double x = i % 50 == 0 ? null : 1e9 + r.nextDouble();
      double y = i % 97 == 0 ? Double.NaN : 0x1p50 + r.nextInt(-1000, 1000);
      double[] v = {r.nextDouble(), 1e9 + r.nextDouble(), -r.nextDouble(), r.nextInt(10)};
      rows.add(RowFactory.create(k, d, x, y, Vectors.dense(v)));
    }
    StructType schema = new StructType().add("k", DataTypes.StringType).add("d", DataTypes.IntegerType)
        .add("x", DataTypes.DoubleType, true).add("y", DataTypes.DoubleType)
        .add("v", SQLDataTypes.VectorType());
    Path input = tmp.resolve("grouped.parquet");
    spark.createDataFrame(rows, schema).repartition(4).write().parquet(input.toString());
    Path grouped = tmp.resolve("grouped-scalars");
    Jobs.ok("stats", "--input", input.toString(), "--group-by", "k,d", "--handle-invalid", "skip",
        "--partitions", "7", "--output", grouped.toString());
    JsonNode json = statsJson(grouped);
    assertEquals(600, json.get("rows").asLong());
    assertEquals("[\"k\",\"d\"]", json.get("group_by").toString());
    JsonNode groups = json.get("groups");
    assertEquals(6, groups.size());
    assertEquals("{\"k\":\"a\",\"d\":0}", groups.get(0).get("key").toString(), "sorted by key");
    Path vectors = tmp.resolve("grouped-vectors");
    Jobs.ok("stats", "--input", input.toString(), "--group-by", "k", "--vector-col", "v",
        "--num-channels", "2", "--output", vectors.toString());
    JsonNode vectorGroups = statsJson(vectors).get("groups");
    assertEquals(3, vectorGroups.size());
    for (JsonNode g : groups) {
      String k = g.get("key").get("k").asText();
      int d = g.get("key").get("d").asInt();
      Path alone = tmp.resolve("alone-" + k + d + ".parquet");
      spark.read().parquet(input.toString()).filter(functions.col("k").equalTo(k)
          .and(functions.col("d").equalTo(d))).write().parquet(alone.toString());
      Path out = tmp.resolve("alone-" + k + d);
      Jobs.ok("stats", "--input", alone.toString(), "--features", "x,y", "--handle-invalid", "skip",
          "--output", out.toString());
      JsonNode expected = statsJson(out);
      assertEquals(expected.get("rows"), g.get("rows"), k + d);
      assertEquals(expected.get("features"), g.get("features"), "group " + k + d);
    }
    for (JsonNode g : vectorGroups) {
      String k = g.get("key").get("k").asText();
      Path alone = tmp.resolve("alone-v-" + k + ".parquet");
      spark.read().parquet(input.toString()).filter(functions.col("k").equalTo(k))
          .write().parquet(alone.toString());
      Path out = tmp.resolve("alone-v-" + k);
      Jobs.ok("stats", "--input", alone.toString(), "--vector-col", "v", "--num-channels", "2",
          "--output", out.toString());
      assertEquals(statsJson(out).get("features"), g.get("features"), "vector group " + k);
    }
    Dataset<Row> table = spark.read().parquet(grouped.resolve("stats.parquet").toString());
    assertEquals(List.of("k", "d", "name", "index", "count", "mean", "var_pop", "var_samp",
        "std_pop", "std_samp", "min", "max", "null_count", "nan_count"),
        Arrays.asList(table.columns()));
    assertEquals(12, table.count());
    // NaN without --handle-invalid skip: refused, naming the feature and the group
    Jobs.Run refused = stats("--input", input.toString(), "--group-by", "k", "--features",
        "y", "--output", tmp.resolve("grouped-refused").toString());
    assertEquals(1, refused.exitCode());
    assertTrue(refused.stderr().contains("feature 'y' has") && refused.stderr().contains("group"),
        refused.stderr());
    Jobs.Run unknown = stats("--input", input.toString(), "--group-by", "nope",
        "--output", tmp.resolve("grouped-unknown").toString());
    assertEquals(2, unknown.exitCode());
    assertTrue(unknown.stderr().contains("unknown column 'nope'"), unknown.stderr());
    // vectors of different lengths within a group: the one-line data error
    Path ragged = tmp.resolve("ragged.parquet");
    spark.sql("SELECT * FROM VALUES ('a', array(1.0D, 2.0D)), ('a', array(3.0D)) AS t(k, v)")
        .write().parquet(ragged.toString());
    Jobs.Run lengths = stats("--input", ragged.toString(), "--group-by", "k",
        "--vector-col", "v", "--output", tmp.resolve("grouped-ragged").toString());
    assertEquals(1, lengths.exitCode(), lengths.stderr());
    assertTrue(lengths.stderr().contains("column 'v' has vectors of different lengths"),
        lengths.stderr());
    assertFalse(Files.exists(tmp.resolve("grouped-ragged")), "nothing half-written");
  }

  @Test
  void previousAndMergeStatsAreBitIdenticalToOneRunOverTheUnion() throws IOException {
    SplittableRandom r = new SplittableRandom(12);
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < 600; i++) {
      rows.add(RowFactory.create((long) i, "k" + (i % 3), 1e9 + r.nextDouble(),
          0x1p50 + r.nextInt(-1000, 1000)));
    }
    StructType schema = new StructType().add("id", DataTypes.LongType)
        .add("k", DataTypes.StringType).add("x", DataTypes.DoubleType)
        .add("y", DataTypes.DoubleType);
    Dataset<Row> all = spark.createDataFrame(rows, schema);
    String a = tmp.resolve("part-a.parquet").toString();
    String b = tmp.resolve("part-b.parquet").toString();
    String union = tmp.resolve("union.parquet").toString();
    all.filter("id < 250").repartition(2).write().parquet(a);
    all.filter("id >= 250").repartition(3).write().parquet(b);
    all.repartition(1).write().parquet(union);
    String[] features = {"--features", "x,y"};
    Path dirA = tmp.resolve("st-a");
    Path dirB = tmp.resolve("st-b");
    Path dirAB = tmp.resolve("st-ab");
    Path dirU = tmp.resolve("st-u");
    Jobs.ok("stats", "--input", a, features[0], features[1], "--output", dirA.toString());
    Jobs.ok("stats", "--input", b, features[0], features[1], "--output", dirB.toString());
    Jobs.ok("stats", "--input", b, features[0], features[1], "--previous", dirA.toString(),
        "--output", dirAB.toString());
    Jobs.ok("stats", "--input", union, features[0], features[1], "--output",
        dirU.toString());
    assertEquals(statsJson(dirU), statsJson(dirAB), "--previous: the union's bits");
    Path merged = tmp.resolve("st-merged");
    Jobs.ok("merge-stats", dirA.toString(), dirB.toString(), "--output", merged.toString());
    assertEquals(statsJson(dirU), statsJson(merged), "merge-stats: the union's bits");
    assertTrue(Files.exists(merged.resolve("state/state.json")));
    JsonNode state = JSON.readTree(dirAB.resolve("state/state.json").toFile());
    assertEquals(1, state.get("version").asInt());
    assertEquals(2, state.get("inputs").size());

    // per group
    Path groupA = tmp.resolve("gr-a");
    Path groupAB = tmp.resolve("gr-ab");
    Path groupU = tmp.resolve("gr-u");
    Jobs.ok("stats", "--input", a, "--group-by", "k", features[0], features[1], "--output",
        groupA.toString());
    Jobs.ok("stats", "--input", b, "--group-by", "k", features[0], features[1],
        "--previous", groupA.toString(), "--output", groupAB.toString());
    Jobs.ok("stats", "--input", union, "--group-by", "k", features[0], features[1],
        "--output", groupU.toString());
    assertEquals(statsJson(groupU), statsJson(groupAB), "grouped --previous: the union's bits");

    // refusals: one line, exit code 2, nothing written
    String[][] refused = {
        {"--input", a, features[0], features[1], "--previous", dirA.toString(),
            "--output", tmp.resolve("ref-twice").toString(), "counted in both"},
        {"--input", b, "--features", "x", "--previous", dirA.toString(),
            "--output", tmp.resolve("ref-features").toString(), "other features"},
        {"--input", b, "--group-by", "k", features[0], features[1], "--previous",
            dirA.toString(), "--output", tmp.resolve("ref-group").toString(), "grouped by"},
        {"--input", b, features[0], features[1], "--previous", tmp.toString(),
            "--output", tmp.resolve("ref-none").toString(), "holds no stats state"}};
    for (String[] args : refused) {
      String expected = args[args.length - 1];
      Jobs.Run run = stats(Arrays.copyOf(args, args.length - 1));
      assertEquals(2, run.exitCode(), run.stderr());
      assertTrue(run.stderr().contains(expected), expected + " in " + run.stderr());
      assertFalse(Files.exists(Path.of(args[args.length - 2])), "nothing written");
    }
    Path versioned = tmp.resolve("st-v2");
    Jobs.ok("stats", "--input", a, features[0], features[1], "--output",
        versioned.toString());
    Path stateJson = versioned.resolve("state/state.json");
    Files.writeString(stateJson, Files.readString(stateJson).replace("\"version\" : 1",
        "\"version\" : 2"));
    Files.deleteIfExists(stateJson.resolveSibling(".state.json.crc")); // Hadoop's checksum of it
    Jobs.Run v2 = Jobs.run("merge-stats", versioned.toString(), dirB.toString(),
        "--output", tmp.resolve("ref-v2").toString());
    assertEquals(2, v2.exitCode());
    assertTrue(v2.stderr().contains("format version 2"), v2.stderr());
  }
}
