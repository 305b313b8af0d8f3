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
    TestSpark.ok(args[0], Arrays.copyOfRange(args, 1, args.length));
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
}
