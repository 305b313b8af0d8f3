package io.normstats.jobs;

import static io.normstats.testing.ExactOracle.assertMoments;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.normstats.ml.BatchNormModel;
import io.normstats.testing.StatsJson;
import io.normstats.testing.Jobs;
import io.normstats.testing.TestSpark;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * The bad-input matrix: every job (stats, compare, report, fit, normalize; compare and report with
 * batch size 2, normalize with --layer-norm unless a case gives --model) on every kind of bad or
 * borderline input. Each run either succeeds with the right result (checked against values computed
 * here) or ends with exactly one line on stderr, {@code normstats JOB: error: ...}, naming the file,
 * column or count, with exit code 1 for bad data and 2 for usage errors, no stack trace, and nothing
 * at the output path or beside it.
 */
class BadInputMatrixTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final List<String> JOBS = List.of("stats", "compare", "report", "fit", "normalize");

  private static SparkSession spark;
  @TempDir static Path tmp;

  @BeforeAll
  static void start() {
    spark = TestSpark.session("BadInputMatrixTest");
  }

  @AfterAll
  static void stop() {
    spark.stop();
  }

  /** What a job must do with a case: succeed and pass {@code check}, or fail with code and text. */
  private record Expect(int code, String fragment, OutputCheck check) {
    static Expect error(int code, String fragment) {
      return new Expect(code, fragment, null);
    }

    static Expect ok(OutputCheck check) {
      return new Expect(0, null, check);
    }
  }

  @FunctionalInterface
  private interface OutputCheck {
    void check(Path out) throws IOException;
  }

  /** One input and what every job must do with it ({@code jobs} lists all five, in order). */
  private record Case(String name, Path input, List<String> args, Map<String, Expect> jobs) {}

  private static Map<String, Expect> all(Expect e) {
    return each(e, e, e, e, e);
  }

  private static Map<String, Expect> each(Expect stats, Expect compare, Expect report, Expect fit,
      Expect normalize) {
    Map<String, Expect> m = new LinkedHashMap<>();
    List<Expect> es = List.of(stats, compare, report, fit, normalize);
    for (int i = 0; i < JOBS.size(); i++) {
      m.put(JOBS.get(i), es.get(i));
    }
    return m;
  }

  private static Path write(String name, String content) throws IOException {
    return Files.writeString(tmp.resolve(name), content);
  }

  private static Path parquet(String name, StructType schema, List<Row> rows) {
    Path p = tmp.resolve(name);
    spark.createDataFrame(rows, schema).coalesce(1).write().parquet(p.toString());
    return p;
  }

  /** Cuts the single data file of a Spark output directory (and drops its checksum) to a fraction. */
  private static Path truncateParquet(Path dir) throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      for (Path p : files.toList()) {
        String name = p.getFileName().toString();
        if (name.endsWith(".crc")) {
          Files.delete(p);
        } else if (name.endsWith(".parquet")) {
          byte[] bytes = Files.readAllBytes(p);
          Files.write(p, Arrays.copyOf(bytes, bytes.length * 2 / 3));
        }
      }
    }
    return dir;
  }

  private static JsonNode json(Path file) throws IOException {
    return JSON.readTree(file.toFile());
  }

  private static JsonNode feature(JsonNode features, String name) {
    for (JsonNode f : features) {
      if (f.get("name").asText().equals(name)) {
        return f;
      }
    }
    throw new AssertionError("no feature " + name);
  }

  private static BatchNormModel model(Path dir) {
    PipelineModel p = PipelineModel.load(dir.toString());
    return (BatchNormModel) p.stages()[p.stages().length - 1];
  }

  private static List<Row> normalized(Path dir) {
    return spark.read().parquet(dir.toString()).select("normalized").collectAsList();
  }

  /** LayerNorm of one row with the default epsilon 1e-5, computed directly. */
  private static double[] layerNorm(double... x) {
    double mean = Arrays.stream(x).sum() / x.length;
    double var = Arrays.stream(x).map(v -> (v - mean) * (v - mean)).sum() / x.length;
    return Arrays.stream(x).map(v -> (v - mean) / Math.sqrt(var + 1e-5)).toArray();
  }

  private static void assertRow(double[] expected, Row row, String what) {
    Vector v = (Vector) row.get(0);
    assertEquals(expected.length, v.size(), what);
    for (int i = 0; i < expected.length; i++) {
      assertEquals(expected[i], v.apply(i), 1e-12 * Math.max(1, Math.abs(expected[i])), what);
    }
  }

  private static List<Case> cases() throws IOException {
    List<Case> cases = new ArrayList<>();
    Path missing = tmp.resolve("missing.csv");
    cases.add(new Case("missing file", missing, List.of(),
        all(Expect.error(2, "input " + missing + " does not exist"))));

    Path emptyCsv = write("empty.csv", "");
    cases.add(new Case("empty CSV", emptyCsv, List.of(),
        all(Expect.error(1, "input " + emptyCsv + " is empty (0 bytes)"))));
    Path emptyJson = write("empty.json", "");
    cases.add(new Case("empty JSON", emptyJson, List.of(),
        all(Expect.error(1, "input " + emptyJson + " is empty (0 bytes)"))));
    Path emptyParquet = Files.write(tmp.resolve("empty.parquet"), new byte[0]);
    cases.add(new Case("empty Parquet file", emptyParquet, List.of(),
        all(Expect.error(1, emptyParquet + " is not a Parquet file"))));
    Path emptyIdx = Files.write(tmp.resolve("empty-idx3-ubyte"), new byte[0]);
    cases.add(new Case("empty IDX", emptyIdx, List.of(),
        all(Expect.error(1, emptyIdx + ": not an IDX file (shorter than its header)"))));

    Path header = write("header.csv", "a,b\n");
    Expect noRows = Expect.error(1, "input " + header + " has no rows");
    cases.add(new Case("header only", header, List.of(), all(noRows)));

    Path typo = write("typo.csv", "a,b\n1,2\n3,x7\n5,6\n");
    cases.add(new Case("unparsable number in CSV", typo, List.of(), all(Expect.error(1,
        "column 'b' of " + typo + " holds 2 numbers and 1 value that is not a number, e.g. 'x7'"))));
    Path typoJson = write("typo.json", "{\"a\": 1, \"b\": 2}\n{\"a\": 3, \"b\": \"n/a\"}\n");
    cases.add(new Case("unparsable number in JSON", typoJson, List.of(), all(Expect.error(1,
        "column 'b' of " + typoJson + " holds 1 numbers and 1 value that is not a number"))));

    Path invalid = write("invalid.csv", "a,b\n1,2\nNaN,3\n4,Infinity\n5,\n-Infinity,6\n");
    Expect minibatchNeedsRows = Expect.error(1, "feature 'a' has 2 NaN or infinite and 0 null values "
        + "(1 more features have some); minibatch statistics need complete rows");
    cases.add(new Case("NaN, Infinity and null", invalid, List.of(), each(
        Expect.error(1, "feature 'a' has 2 NaN or infinite and 0 null values (1 more features have "
            + "some); pass --handle-invalid skip"),
        minibatchNeedsRows, minibatchNeedsRows,
        Expect.error(1, "column 'features' has 2 NaN or infinite and 0 null values in features[0]"),
        Expect.error(1, "column 'features' has a NaN or infinite value"))));
    Map<String, Expect> skipped = new LinkedHashMap<>();
    skipped.put("stats", Expect.ok(out -> {
      JsonNode f = json(out.resolve("stats.json")).get("features");
      assertMoments(new double[] {1, 4, 5}, StatsJson.moments(feature(f, "a")), "a");
      assertEquals(2, feature(f, "a").get("nan_count").asLong());
      assertMoments(new double[] {2, 3, 6}, StatsJson.moments(feature(f, "b")), "b");
      assertEquals(1, feature(f, "b").get("nan_count").asLong());
      assertEquals(1, feature(f, "b").get("null_count").asLong());
    }));
    skipped.put("fit", Expect.ok(out -> { // handleInvalid skip leaves out every row with an
      BatchNormModel bn = model(out);       // invalid value: only (1, 2) is complete
      assertEquals(Vectors.dense(1, 2), bn.mean());
      assertEquals(Vectors.dense(0, 0), bn.variance());
    }));
    skipped.put("normalize", Expect.ok(out -> assertEquals(1, normalized(out).size())));
    cases.add(new Case("NaN, Infinity and null, skipped", invalid, List.of("--handle-invalid", "skip"),
        skipped));

    Path raggedRows = write("ragged-rows.csv", "a,b\n1,2\n3\n4,5\n");
    cases.add(new Case("CSV row with too few fields", raggedRows, List.of(),
        all(Expect.error(1, "cannot read " + raggedRows + ": malformed record [3,null]"))));
    Path ragged = write("ragged.json", "{\"v\": [1.0, 2.0]}\n{\"v\": [3.0]}\n");
    Expect differentLengths = Expect.error(1, "column 'v' has vectors of different lengths: 2 (the "
        + "first one) and 1");
    cases.add(new Case("ragged vectors", ragged, List.of(), each(differentLengths, differentLengths,
        differentLengths, differentLengths,
        Expect.ok(out -> { // LayerNorm normalizes each row alone: any length works
          List<Row> rows = normalized(out);
          assertEquals(2, rows.size());
          for (Row r : rows) {
            double[] expected = ((Vector) r.get(0)).size() == 2 ? layerNorm(1, 2) : layerNorm(3);
            assertRow(expected, r, "ragged row");
          }
        }))));

    cases.add(new Case("ragged vectors normalized to CSV", ragged, List.of("--output-format", "csv"),
        Map.of("normalize", Expect.ok(out -> { // one column per element; a shorter row leaves empty
          List<Row> rows = spark.read().option("header", "true").option("inferSchema", "true")
              .csv(out.toString()).select("normalized_0", "normalized_1").collectAsList();
          double[] two = layerNorm(1, 2);
          assertTrue(rows.stream().anyMatch(r -> !r.isNullAt(1) && Math.abs(r.getDouble(0) - two[0])
              < 1e-12 && Math.abs(r.getDouble(1) - two[1]) < 1e-12), rows.toString());
          assertTrue(rows.stream().anyMatch(r -> r.isNullAt(1) && r.getDouble(0) == 0.0),
              rows.toString());
        }))));

    StructType vectorSchema = new StructType().add("v", SQLDataTypes.VectorType());
    Path sparse = parquet("sparse.parquet", vectorSchema, List.of(
        RowFactory.create(Vectors.dense(1, 2, 3, 4)),
        RowFactory.create(Vectors.sparse(5, new int[] {1}, new double[] {2})),
        RowFactory.create(Vectors.dense(0, 1, 0, 2))));
    Expect sparseLengths = Expect.error(1, "column 'v' has vectors of different lengths: 4 (the first "
        + "one) and 5");
    cases.add(new Case("sparse vector of the wrong size", sparse, List.of(), each(sparseLengths,
        sparseLengths, sparseLengths, sparseLengths, Expect.ok(out -> {
          assertEquals(3, normalized(out).size());
          assertRow(layerNorm(0, 2, 0, 0, 0), normalized(out).stream()
              .filter(r -> ((Vector) r.get(0)).size() == 5).findFirst().get(), "sparse row");
        }))));

    Path strings = write("strings.csv", "name,label\nx,y\nz,w\n");
    cases.add(new Case("no numeric column", strings, List.of(), all(Expect.error(2,
        "no numeric or vector column in the input (columns: name:string, label:string)"))));
    Path mixed = write("mixed.csv", "name,a\nx,1\ny,2\nz,4\n");
    cases.add(new Case("string column chosen", mixed, List.of("--features", "a,name"),
        all(Expect.error(2, "column 'name' is string, not numeric"))));

    Path dupCsv = write("dup.csv", "a,b,A\n1,2,3\n4,5,6\n");
    cases.add(new Case("duplicate column names in CSV", dupCsv, List.of(), all(Expect.error(1,
        "the header of " + dupCsv + " names column 'A' twice (fields 1 and 3), ignoring case"))));
    Path dupJson = write("dup.json", "{\"a\": 1, \"b\": 2, \"a\": 3}\n{\"a\": 4, \"b\": 5, \"a\": 6}\n");
    cases.add(new Case("duplicate keys in JSON", dupJson, List.of(),
        all(Expect.error(1, "the input has two columns named `a`"))));

    StructType scalar = new StructType().add("a", DataTypes.DoubleType);
    Path zero = parquet("zero.parquet", scalar, List.of());
    Expect zeroRows = Expect.error(1, "input " + zero + " has no rows");
    cases.add(new Case("0 rows", zero, List.of(), each(zeroRows, zeroRows, zeroRows, zeroRows,
        Expect.ok(out -> assertEquals(0, normalized(out).size(), "0 rows in, 0 rows out")))));

    Path one = write("one.csv", "a,b\n1.5,-2\n");
    Expect tooFew = Expect.error(2, "batch size 2 is larger than the input's 1 rows");
    cases.add(new Case("1 row", one, List.of(), each(
        Expect.ok(out -> {
          JsonNode f = json(out.resolve("stats.json")).get("features");
          assertMoments(new double[] {1.5}, StatsJson.moments(feature(f, "a")), "a");
          assertTrue(feature(f, "a").get("var_samp").isNull());
        }), tooFew, tooFew,
        Expect.ok(out -> {
          assertEquals(Vectors.dense(1.5, -2), model(out).mean());
          assertEquals(Vectors.dense(0, 0), model(out).variance());
        }),
        Expect.ok(out -> assertRow(layerNorm(1.5, -2), normalized(out).get(0), "one row")))));

    Path constant = write("constant.csv", "a,b\n1,5\n2,5\n3,5\n4,5\n");
    cases.add(new Case("a constant feature", constant, List.of(), each(
        Expect.ok(out -> {
          JsonNode b = feature(json(out.resolve("stats.json")).get("features"), "b");
          assertMoments(new double[] {5, 5, 5, 5}, StatsJson.moments(b), "b");
        }),
        Expect.ok(out -> {
          for (JsonNode r : json(out.resolve("compare.json")).get("results")) {
            JsonNode b = feature(r.get("features"), "b");
            assertEquals(0.0, b.get("exact_var").asDouble());
            assertTrue(b.get("var_rel_err").isNull() && b.get("mean_err_in_std").isNull(),
                "relative errors against a zero variance are undefined (null): " + b);
          }
        }),
        Expect.ok(out -> assertTrue(Files.size(out.resolve("report.html")) > 0)),
        Expect.ok(out -> {
          assertEquals(Vectors.dense(2.5, 5), model(out).mean());
          assertEquals(Vectors.dense(1.25, 0), model(out).variance());
        }),
        Expect.ok(out -> assertRow(layerNorm(1, 5), normalized(out).get(0), "row 0")))));

    double max = Double.MAX_VALUE;
    Path huge = write("huge.csv", "a,b\n" + max + ",1\n" + (-max) + ",2\n1e308,3\n1.5e308,4\n");
    double[] a = {max, -max, 1e308, 1.5e308};
    Expect spans = Expect.error(1, "feature 'a' spans " + (-max) + " to " + max
        + ": its squared deviations overflow double");
    cases.add(new Case("values near Double.MAX_VALUE", huge, List.of(), each(
        Expect.ok(out -> {
          JsonNode f = feature(json(out.resolve("stats.json")).get("features"), "a");
          assertMoments(a, StatsJson.moments(f), "a"); // var_pop beyond MAX_VALUE: Infinity
          assertEquals("Infinity", f.get("var_pop").asText());
        }),
        spans, spans,
        Expect.error(1, "column 'features': features[0] has a variance beyond the double range"),
        Expect.ok(out -> assertRow(new double[] {1, -1}, // (MAX, 1): deviations +-(MAX - 1)/2
            normalized(out).get(0), "huge row")))));

    Path truncated = truncateParquet(parquet("truncated.parquet", scalar,
        java.util.stream.IntStream.range(0, 3000).mapToObj(i -> RowFactory.create((double) i))
            .toList()));
    cases.add(new Case("truncated Parquet", truncated, List.of(),
        all(Expect.error(1, truncated + "/part-"))));
    byte[] gz = Files.readAllBytes(Path.of("sample-data/fashion-mnist/t10k-images-idx3-ubyte.gz"));
    Path cutGz = Files.write(tmp.resolve("cut-idx3-ubyte.gz"), Arrays.copyOf(gz, gz.length / 2));
    cases.add(new Case("truncated gzip IDX", cutGz, List.of(), all(Expect.error(1,
        cutGz + ": truncated: the IDX header says 10000 items, the file ends before the end of item"))));
    byte[] raw = new GZIPInputStream(new ByteArrayInputStream(gz)).readAllBytes();
    Path cutRaw = Files.write(tmp.resolve("cut-idx3-ubyte"), Arrays.copyOf(raw, 16 + 784 * 7 + 100));
    cases.add(new Case("truncated IDX", cutRaw, List.of(), all(Expect.error(1,
        cutRaw + ": truncated: the IDX header says 10000 items, the file ends before the end of item"))));

    Path wide = write("wide.json", "{\"v\": [1.0, 2.0, 3.0]}\n{\"v\": [2.0, 2.0, 5.0]}\n");
    Path narrowModel = tmp.resolve("narrow-model");
    Jobs.ok("fit", "--input", write("narrow.json", "{\"v\": [1.0, 2.0]}\n{\"v\": [3.0, 1.0]}\n")
        .toString(), "--output", narrowModel.toString());
    cases.add(new Case("model of the wrong dimension", wide, List.of("--model", narrowModel.toString()),
        Map.of("normalize", Expect.error(1, "column 'v' has a vector of length 3, expected 2"))));
    Path scalarModel = tmp.resolve("scalar-model");
    Jobs.ok("fit", "--input", constant.toString(), "--output", scalarModel.toString());
    Path onlyA = write("only-a.csv", "a\n1\n2\n");
    cases.add(new Case("model of other columns", onlyA, List.of("--model", scalarModel.toString()),
        Map.of("normalize", Expect.error(2, "the model " + scalarModel + " reads column 'b', which the "
            + "input does not have (columns: a)"))));

    Path four = write("four.csv", "a\n1\n2\n3\n4\n");
    Expect larger = Expect.error(2, "batch size 64 is larger than the input's 4 rows");
    cases.add(new Case("batch size larger than the data", four, List.of("--batch-sizes", "2,64"),
        Map.of("compare", larger, "report", larger)));
    return cases;
  }

  @TestFactory
  Stream<DynamicTest> everyJobFailsClearlyOrSucceedsCorrectly() throws IOException {
    List<DynamicTest> tests = new ArrayList<>();
    int k = 0;
    for (Case c : cases()) {
      for (Map.Entry<String, Expect> e : c.jobs().entrySet()) {
        String job = e.getKey();
        Path out = tmp.resolve("out-" + k++);
        tests.add(DynamicTest.dynamicTest(job + ": " + c.name(), () -> {
          List<String> args = new ArrayList<>(c.args());
          if (job.equals("normalize") && !c.args().contains("--model")) {
            args.add("--layer-norm");
          }
          if (job.equals("compare") || job.equals("report")) {
            if (!c.args().contains("--batch-sizes")) {
              args.addAll(List.of("--batch-sizes", "2"));
            }
          }
          args.addAll(List.of("--input", c.input().toString(), "--output", out.toString()));
          check(job, e.getValue(), out, Jobs.run(job, args.toArray(new String[0])));
        }));
      }
    }
    return tests.stream();
  }

  private static void check(String job, Expect expect, Path out, Jobs.Run run)
      throws IOException {
    String err = run.stderr().strip();
    if (expect.check() != null) {
      assertEquals(0, run.exitCode(), err);
      expect.check().check(out);
    } else {
      assertEquals(expect.code(), run.exitCode(), err);
      assertEquals(1, err.lines().count(), "one line: " + err);
      assertTrue(err.startsWith("normstats " + job + ": error: "), err);
      assertTrue(err.contains(expect.fragment()), "'" + expect.fragment() + "' in: " + err);
      assertFalse(err.contains("Exception") || err.contains("\tat "), err);
      assertFalse(Files.exists(out), "nothing at the output");
    }
    try (Stream<Path> left = Files.list(out.getParent())) {
      List<String> staging = left.map(p -> p.getFileName().toString())
          .filter(n -> n.contains(".normstats-")).toList();
      assertTrue(staging.isEmpty(), "staging directories left: " + staging);
    }
  }
}
