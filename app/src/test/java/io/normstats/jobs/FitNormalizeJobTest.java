package io.normstats.jobs;

import static io.normstats.testing.StatsJson.num;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.normstats.ml.BatchNormModel;
import io.normstats.ml.BatchNormSafetensors;
import io.normstats.testing.Jobs;
import io.normstats.testing.TestSpark;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The fit and normalize jobs in-process on local[2], against the stats job and the stages. */
class FitNormalizeJobTest {
  private static SparkSession spark;
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String SAMPLE = "sample-data/fashion-mnist/t10k-images-idx3-ubyte.gz";
  @TempDir static Path tmp;

  @BeforeAll
  static void start() {
    spark = TestSpark.session("FitNormalizeJobTest");
  }

  @AfterAll
  static void stop() {
    spark.stop();
  }

  private static Jobs.Run main(String... args) {
    return Jobs.run(args[0], Arrays.copyOfRange(args, 1, args.length));
  }

  private static void ok(String... args) {
    Jobs.ok(args[0], Arrays.copyOfRange(args, 1, args.length));
  }

  private static BatchNormModel batchNorm(Path dir) {
    PipelineModel model = PipelineModel.load(dir.toString());
    return (BatchNormModel) model.stages()[model.stages().length - 1];
  }

  @Test
  void fitStatisticsAreTheStatsJobsBits() throws IOException {
    Path stats = tmp.resolve("stats");
    Path model = tmp.resolve("model");
    Path tensors = tmp.resolve("bn.safetensors");
    ok("stats", "--input", SAMPLE, "--output", stats.toString());
    ok("fit", "--input", SAMPLE, "--output", model.toString(), "--safetensors", tensors.toString(),
        "--safetensors-dtype", "F64");
    JsonNode features = JSON.readTree(stats.resolve("stats.json").toFile()).get("features");
    BatchNormModel bn = batchNorm(model);
    assertEquals(784, bn.mean().size());
    for (int j = 0; j < 784; j++) {
      assertEquals(num(features.get(j).get("mean")), bn.mean().apply(j), 0.0, "pixel " + j);
      assertEquals(num(features.get(j).get("var_pop")), bn.variance().apply(j), 0.0, "pixel " + j);
    }
    try (InputStream in = Files.newInputStream(tensors)) {
      BatchNormModel back = BatchNormSafetensors.read(in, tensors.toString(), "");
      assertArrayEquals(bn.mean().toArray(), back.mean().toArray());
      assertArrayEquals(bn.variance().toArray(), back.variance().toArray());
    }
    // per channel (one channel of 784 pixels), sample variance
    Path stats1 = tmp.resolve("stats-channel");
    Path model1 = tmp.resolve("model-channel");
    ok("stats", "--input", SAMPLE, "--num-channels", "1", "--output", stats1.toString());
    ok("fit", "--input", SAMPLE, "--num-channels", "1", "--variance-mode", "sample", "--output",
        model1.toString());
    JsonNode channel = JSON.readTree(stats1.resolve("stats.json").toFile()).get("features").get(0);
    assertEquals("image[channel 0]", channel.get("name").asText());
    assertEquals(7_840_000, channel.get("count").asLong());
    assertEquals(num(channel.get("var_samp")), batchNorm(model1).variance().apply(0), 0.0);
  }

  @Test
  void normalizeWritesWhatTheModelComputes() throws IOException {
    Path csv = tmp.resolve("scalars.csv");
    Files.writeString(csv, "id,a,b\n1,1.5,10\n2,2.5,30\n3,4.0,20\n4,-1,0\n");
    Path model = tmp.resolve("scalar-model");
    ok("fit", "--input", csv.toString(), "--features", "a,b", "--output", model.toString());
    PipelineModel pipeline = PipelineModel.load(model.toString());
    assertEquals(2, pipeline.stages().length, "VectorAssembler, BatchNormModel");
    Dataset<Row> input = spark.read().option("header", "true").option("inferSchema", "true")
        .csv(csv.toString());
    List<Row> expected = pipeline.transform(input).orderBy("id").select("normalized").collectAsList();
    // parquet: the input's columns plus the normalized vector, same bits as the model in-process
    Path parquet = tmp.resolve("normalized-parquet");
    ok("normalize", "--input", csv.toString(), "--model", model.toString(), "--output",
        parquet.toString());
    Dataset<Row> written = spark.read().parquet(parquet.toString());
    assertEquals(List.of("id", "a", "b", "normalized"), Arrays.asList(written.columns()));
    List<Row> actual = written.orderBy("id").select("normalized").collectAsList();
    for (int i = 0; i < 4; i++) {
      assertArrayEquals(((Vector) expected.get(i).get(0)).toArray(),
          ((Vector) actual.get(i).get(0)).toArray());
    }
    // json: an array of numbers; csv: one column per element
    Path json = tmp.resolve("normalized-json");
    ok("normalize", "--input", csv.toString(), "--model", model.toString(), "--output",
        json.toString(), "--output-format", "json", "--output-col", "z");
    Row first = spark.read().json(json.toString()).orderBy("id").first();
    assertEquals(((Vector) expected.get(0).get(0)).apply(1),
        ((Number) first.getList(first.fieldIndex("z")).get(1)).doubleValue());
    Path csvOut = tmp.resolve("normalized-csv");
    ok("normalize", "--input", csv.toString(), "--layer-norm", "--features", "a,b", "--epsilon",
        "0", "--output", csvOut.toString(), "--output-format", "csv");
    Dataset<Row> table = spark.read().option("header", "true").option("inferSchema", "true")
        .csv(csvOut.toString());
    assertEquals(List.of("id", "a", "b", "normalized_0", "normalized_1"),
        Arrays.asList(table.columns()));
    Row row = table.orderBy("id").first();
    // LayerNorm of (1.5, 10) with epsilon 0 is (-1, 1)
    assertEquals(-1.0, row.getDouble(3), 1e-15);
    assertEquals(1.0, row.getDouble(4), 1e-15);
  }

  @Test
  void vectorTypeWritesPlainArraysForPythonReaders() throws IOException {
    Path csv = tmp.resolve("vt.csv");
    Files.writeString(csv, "id,a,b\n1,0.1,10\n2,0.2,30\n3,0.7,20\n");
    Path model = tmp.resolve("vt-model");
    ok("fit", "--input", csv.toString(), "--features", "a,b", "--output", model.toString());
    Dataset<Row> input = spark.read().option("header", "true").option("inferSchema", "true")
        .csv(csv.toString());
    List<Row> expected = PipelineModel.load(model.toString()).transform(input).orderBy("id")
        .select("normalized").collectAsList();
    String[][] cases = {{"parquet", "array"}, {"parquet", "float-array"}, {"json", "vector"}};
    for (String[] c : cases) {
      Path out = tmp.resolve("vt-" + c[0] + "-" + c[1]);
      ok("normalize", "--input", csv.toString(), "--model", model.toString(), "--output",
          out.toString(), "--output-format", c[0], "--vector-type", c[1]);
      Dataset<Row> written = c[0].equals("parquet") ? spark.read().parquet(out.toString())
          : spark.read().json(out.toString());
      org.apache.spark.sql.types.DataType type = written.schema().apply("normalized").dataType();
      List<Row> rows = written.orderBy("id").select("normalized").collectAsList();
      for (int i = 0; i < 3; i++) {
        double[] want = ((Vector) expected.get(i).get(0)).toArray();
        Row r = rows.get(i);
        if (c[1].equals("array")) {
          assertEquals("array<double>", type.simpleString());
          List<Double> got = r.getList(0);
          for (int k = 0; k < 2; k++) {
            assertEquals(want[k], got.get(k), 0.0);
          }
        } else if (c[1].equals("float-array")) {
          assertEquals("array<float>", type.simpleString());
          List<Float> got = r.getList(0);
          for (int k = 0; k < 2; k++) {
            assertEquals((float) want[k], got.get(k), 0.0f, "rounded to the nearest float");
          }
        } else { // JSON of Spark ML's Vector: its struct {type, size, indices, values}
          assertTrue(type.simpleString().contains("values:array<double>"), type.simpleString());
          List<Double> got = r.getStruct(0).getList(r.getStruct(0).fieldIndex("values"));
          assertEquals(want[0], got.get(0), 0.0);
        }
      }
    }
    Jobs.Run csvRun = main("normalize", "--input", csv.toString(), "--model",
        model.toString(), "--output", tmp.resolve("vt-csv").toString(), "--output-format", "csv",
        "--vector-type", "array");
    assertEquals(2, csvRun.exitCode());
    assertTrue(csvRun.stderr().contains("--vector-type applies to parquet and json outputs"),
        csvRun.stderr());
    Jobs.Run bad = main("normalize", "--input", csv.toString(), "--model", model.toString(),
        "--output", tmp.resolve("vt-bad").toString(), "--vector-type", "tensor");
    assertEquals(2, bad.exitCode());
    assertTrue(bad.stderr().contains("--vector-type"), bad.stderr());
    assertFalse(Files.exists(tmp.resolve("vt-bad")), "nothing written");
  }

  @Test
  void badInputsFailWithOneLineAndWriteNothing() throws IOException {
    Path vectors = tmp.resolve("v3.json");
    Files.writeString(vectors, "{\"v\": [1.0, 2.0, 3.0]}\n{\"v\": [2.0, 2.0, 5.0]}\n");
    Path twoWide = tmp.resolve("v2.json");
    Files.writeString(twoWide, "{\"v\": [1.0, 2.0]}\n{\"v\": [3.0, 1.0]}\n");
    Path nan = tmp.resolve("nan.json");
    Files.writeString(nan, "{\"v\": [1.0, 2.0]}\n{\"v\": [NaN, 1.0]}\n");
    Path model2 = tmp.resolve("model-2");
    ok("fit", "--input", twoWide.toString(), "--output", model2.toString());
    Path out = tmp.resolve("never");
    record Case(int code, String message, String... args) {}
    List<Case> cases = List.of(
        new Case(1, "column 'v' has a vector of length 3, expected 2", "normalize", "--input",
            vectors.toString(), "--model", model2.toString()),
        new Case(2, "is not a saved model", "normalize", "--input", vectors.toString(), "--model",
            tmp.resolve("nothing").toString()),
        new Case(2, "3 channels do not divide column 'v' of vectors of length 2", "fit", "--input",
            twoWide.toString(), "--num-channels", "3"),
        new Case(1, "column 'v' has 1 NaN or infinite and 0 null values", "fit", "--input",
            nan.toString()),
        new Case(1, "column 'v' has a NaN or infinite value", "normalize", "--input",
            nan.toString(), "--rms-norm"),
        new Case(2, "mutually exclusive", "normalize", "--input", nan.toString(), "--rms-norm",
            "--layer-norm"),
        new Case(2, "the input already has a column 'v'", "normalize", "--input", nan.toString(),
            "--rms-norm", "--output-col", "v"),
        new Case(2, "--variance-mode must be one of population, sample: both", "fit", "--input",
            nan.toString(), "--variance-mode", "both"));
    for (Case c : cases) {
      List<String> args = new ArrayList<>(Arrays.asList(c.args()));
      args.addAll(List.of("--output", out.toString()));
      Jobs.Run run = main(args.toArray(new String[0]));
      assertEquals(c.code(), run.exitCode(), run.stderr());
      assertTrue(run.stderr().contains(c.message()), c.message() + " in: " + run.stderr());
      assertFalse(Files.exists(out), "nothing at the output for " + c.message());
      if (!c.message().contains("exclusive")) {
        assertEquals(1, run.stderr().strip().lines().count(), run.stderr());
      }
    }
    // --keep passes the NaN through
    Path kept = tmp.resolve("kept");
    ok("normalize", "--input", nan.toString(), "--rms-norm", "--handle-invalid", "keep", "--output",
        kept.toString());
    assertEquals(2, spark.read().parquet(kept.toString()).count());
  }

  /** Replaces the "class" of the JSON metadata file under {@code dir}/metadata. */
  private static void setMetadataClass(Path dir, String cls) throws IOException {
    try (var files = Files.list(dir.resolve("metadata"))) {
      for (Path f : files.filter(p -> p.getFileName().toString().startsWith("part-")).toList()) {
        String json = Files.readString(f);
        Files.writeString(f, json.replaceFirst("\"class\":\"[^\"]+\"", "\"class\":\"" + cls + "\""));
        Files.deleteIfExists(f.resolveSibling("." + f.getFileName() + ".crc"));
      }
    }
  }

  private static Path copy(Path from, Path to) throws IOException {
    try (var files = Files.walk(from)) {
      for (Path f : files.toList()) {
        Files.copy(f, to.resolve(from.relativize(f).toString()));
      }
    }
    return to;
  }

  @Test
  void modelsAreReadFromJsonMetadataAndParquetOnly() throws IOException {
    Path input = tmp.resolve("tamper.json");
    Files.writeString(input, "{\"v\": [1.0, 2.0]}\n{\"v\": [3.0, 1.0]}\n");
    Path model = tmp.resolve("tamper-model");
    ok("fit", "--input", input.toString(), "--output", model.toString());
    Path out = tmp.resolve("tamper-out");

    // A stage naming another class is refused before Spark instantiates anything.
    Path trapped = copy(model, tmp.resolve("trapped-model"));
    Path stage;
    try (var stages = Files.list(trapped.resolve("stages"))) {
      stage = stages.findFirst().orElseThrow();
    }
    setMetadataClass(stage, TrapStage.class.getName());
    Jobs.Run run = main("normalize", "--input", input.toString(), "--model", trapped.toString(),
        "--output", out.toString());
    assertEquals(2, run.exitCode(), run.stderr());
    assertTrue(run.stderr().contains("has a stage of class io.normstats.jobs.TrapStage"),
        run.stderr());
    assertEquals(null, System.getProperty(TrapStage.LOADED), "the named class was never loaded");
    assertFalse(Files.exists(out));

    // So is a directory whose top level is not a PipelineModel.
    Path other = copy(model, tmp.resolve("other-model"));
    setMetadataClass(other, "org.apache.spark.ml.feature.StandardScalerModel");
    run = main("normalize", "--input", input.toString(), "--model", other.toString(), "--output",
        out.toString());
    assertEquals(2, run.exitCode(), run.stderr());
    assertTrue(run.stderr().contains("holds a org.apache.spark.ml.feature.StandardScalerModel, not "
        + "the PipelineModel"), run.stderr());

    // And statistics that do not make a model: a mean and a variance of different lengths.
    Path bad = copy(model, tmp.resolve("bad-model"));
    Path data;
    try (var stages = Files.list(bad.resolve("stages"))) {
      data = stages.findFirst().orElseThrow().resolve("data");
    }
    spark.createDataFrame(List.of(org.apache.spark.sql.RowFactory.create(
        org.apache.spark.ml.linalg.Vectors.dense(1, 2),
        org.apache.spark.ml.linalg.Vectors.dense(1, 2, 3))), new org.apache.spark.sql.types.StructType()
        .add("mean", org.apache.spark.ml.linalg.SQLDataTypes.VectorType())
        .add("variance", org.apache.spark.ml.linalg.SQLDataTypes.VectorType()))
        .write().mode("overwrite").parquet(data.toString());
    run = main("normalize", "--input", input.toString(), "--model", bad.toString(), "--output",
        out.toString());
    assertEquals(2, run.exitCode(), run.stderr());
    assertTrue(run.stderr().contains("does not hold valid BatchNorm statistics: mean and variance must "
        + "have the same, non-zero length: 2 and 3"), run.stderr());
    assertEquals(1, run.stderr().strip().lines().count(), run.stderr());
  }
}
