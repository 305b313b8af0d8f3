package io.normstats.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import io.normstats.testing.Jobs;
import io.normstats.testing.TestSpark;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The report job in-process: its numbers are the stats and compare jobs', and it escapes names. */
class ReportJobTest {
  private static SparkSession spark;
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String EVIL = "<script>alert(1)</script>";
  @TempDir static Path tmp;

  @BeforeAll
  static void start() {
    spark = TestSpark.session("ReportJobTest");
  }

  @AfterAll
  static void stop() {
    spark.stop();
  }

  private static void ok(String... args) {
    Jobs.ok(args[0], Arrays.copyOfRange(args, 1, args.length));
  }

  @Test
  void theReportHoldsTheStatsAndCompareNumbersAndEscapesNames() throws Exception {
    Path dir = Files.createDirectories(tmp.resolve("in <b>&amp; dir"));
    Path csv = dir.resolve("data.csv");
    Random r = new Random(6);
    StringBuilder sb = new StringBuilder("id,\"" + EVIL + "\",a&b,x\n");
    for (int i = 0; i < 400; i++) {
      sb.append("r").append(i).append(',').append(r.nextGaussian()).append(',')
          .append(10 + r.nextInt(7)).append(',').append(1e3 + r.nextDouble()).append('\n');
    }
    Files.writeString(csv, sb);
    String[] options = {"--batch-sizes", "4,16", "--trace-points", "10", "--shuffle-seed", "2"};
    Path report = tmp.resolve("report");
    Path stats = tmp.resolve("stats");
    Path compare = tmp.resolve("compare");
    List<String> args = new ArrayList<>(List.of("report", "--input", csv.toString(), "--output",
        report.toString()));
    args.addAll(List.of(options));
    ok(args.toArray(new String[0]));
    ok("stats", "--input", csv.toString(), "--output", stats.toString());
    args = new ArrayList<>(List.of("compare", "--input", csv.toString(), "--output",
        compare.toString()));
    args.addAll(List.of(options));
    ok(args.toArray(new String[0]));

    // report.json holds the compare job's numbers, and these hold the stats job's
    JsonNode json = JSON.readTree(report.resolve("report.json").toFile());
    JsonNode compareJson = JSON.readTree(compare.resolve("compare.json").toFile());
    assertEquals(compareJson, json.get("compare"));
    assertEquals(JSON.readTree(stats.resolve("stats.json").toFile()), json.get("compare").get("exact"));
    assertEquals(400, json.get("header").get("rows").asLong());
    assertEquals(3, json.get("header").get("features").asInt());
    assertEquals(csv.toString(), json.get("header").get("input").asText());
    JsonNode dist = json.get("batch_mean_distribution");
    assertEquals(4, dist.get("batch_size").asInt());
    long counted = dist.get("below").asLong() + dist.get("above").asLong();
    for (JsonNode c : dist.get("counts")) {
      counted += c.asLong();
    }
    assertEquals(100, counted, "every batch of 4 of the 400 rows, once");
    assertEquals(5, json.get("reading").size());

    // features.csv: one row per feature, the stats job's numbers
    List<Row> rows = spark.read().option("header", "true").csv(report.resolve("features.csv")
        .toString()).collectAsList();
    assertEquals(3, rows.size());
    JsonNode statsFeatures = json.get("compare").get("exact").get("features");
    for (int j = 0; j < 3; j++) {
      Row row = rows.get(j);
      assertEquals(statsFeatures.get(j).get("name").asText(), row.getString(0));
      assertEquals(statsFeatures.get(j).get("mean").asDouble(), Double.parseDouble(row.getString(3)));
      assertEquals(statsFeatures.get(j).get("var_pop").asDouble(),
          Double.parseDouble(row.getString(4)));
    }

    // names and paths are escaped; the page has no script at all
    String html = Files.readString(report.resolve("report.html"));
    assertTrue(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "the column name, escaped");
    assertFalse(html.contains(EVIL));
    assertFalse(html.toLowerCase(java.util.Locale.ROOT).contains("<script"));
    assertTrue(html.contains("in &lt;b&gt;&amp;amp; dir"), "the path, escaped");
    assertTrue(html.contains("a&amp;b"));
    assertFalse(html.contains("http://") || html.contains("https://"), "nothing to fetch");
  }

  @Test
  void withAModelTheReportHoldsTheRecalibrateJobsNumbers() throws Exception {
    // a residual MLP whose BatchNorm nodes and input have names that need escaping
    io.normstats.onnx.proto.OnnxProto.ModelProto mlp =
        io.normstats.onnx.proto.OnnxProto.ModelProto.parseFrom(
            io.normstats.testing.OnnxGraphs.residualMlp(3, 9));
    io.normstats.onnx.proto.OnnxProto.GraphProto.Builder g = mlp.getGraph().toBuilder();
    for (int i = 0; i < g.getNodeCount(); i++) {
      if (g.getNode(i).getName().equals("bn_c")) {
        g.setNode(i, g.getNode(i).toBuilder().setName(EVIL));
      }
    }
    Path model = Files.write(tmp.resolve("mlp & <net>.onnx"),
        mlp.toBuilder().setGraph(g).build().toByteArray());
    Path csv = tmp.resolve("three.csv");
    Random r = new Random(7);
    StringBuilder sb = new StringBuilder("a,b,c,label\n");
    for (int i = 0; i < 300; i++) {
      sb.append(r.nextGaussian()).append(',').append(2 + r.nextGaussian()).append(',')
          .append(r.nextDouble()).append(',').append(i % 3).append('\n');
    }
    Files.writeString(csv, sb);
    String[] network = {"--model", model.toString(), "--features", "a,b,c", "--eval-input",
        csv.toString(), "--label-col", "label", "--precise-bn-batch-size", "8"};
    Path report = tmp.resolve("report-model");
    Path recalibrate = tmp.resolve("recalibrate-model");
    List<String> args = new ArrayList<>(List.of("report", "--input", csv.toString(), "--output",
        report.toString(), "--batch-sizes", "4"));
    args.addAll(List.of(network));
    ok(args.toArray(new String[0]));
    args = new ArrayList<>(List.of("recalibrate", "--input", csv.toString(), "--output",
        recalibrate.toString()));
    args.addAll(List.of(network));
    ok(args.toArray(new String[0]));

    JsonNode json = JSON.readTree(report.resolve("report.json").toFile());
    assertEquals(JSON.readTree(recalibrate.resolve("recalibrate.json").toFile()),
        json.get("network"));
    assertEquals(5 + 4, json.get("reading").size()); // the network's four sentences after five
    assertTrue(json.get("header").get("phases").has("network recalibration"));
    String html = Files.readString(report.resolve("report.html"));
    assertTrue(html.contains("<h2 id=\"network\">"));
    assertTrue(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "the node name, escaped");
    assertFalse(html.contains(EVIL));
    assertTrue(html.contains("mlp &amp; &lt;net&gt;.onnx"), "the model path, escaped");
    double accuracy = json.get("network").get("evaluation").get("accuracy").get("recalibrated")
        .asDouble();
    assertTrue(html.contains(String.format(java.util.Locale.ROOT, "%.2f%%", 100 * accuracy)));

    // network options without a model are a usage error
    Jobs.Run run = Jobs.run("report", "--input", csv.toString(), "--output",
        tmp.resolve("no-model").toString(), "--eval-input", csv.toString());
    assertEquals(2, run.exitCode(), run.stderr());
    assertTrue(run.stderr().contains("need --model"), run.stderr());
  }
}
