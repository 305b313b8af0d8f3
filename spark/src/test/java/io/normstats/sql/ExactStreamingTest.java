package io.normstats.sql;

import static io.normstats.sql.ExactFunctions.exact_moments;
import static io.normstats.sql.ExactFunctions.exact_var_pop;
import static org.apache.spark.sql.functions.col;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.apache.spark.api.java.function.VoidFunction2;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.streaming.StreamingQuery;
import org.apache.spark.sql.streaming.Trigger;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * exact_moments in a Structured Streaming aggregation over a directory of CSV files: stopped
 * mid-stream and restarted from its checkpoint, the query ends with the bits of one batch query
 * over all the files.
 */
class ExactStreamingTest {
  private static SparkSession spark;
  private static final StructType SCHEMA = new StructType().add("g", DataTypes.StringType)
      .add("x", DataTypes.DoubleType);
  @TempDir static Path tmp;

  @BeforeAll
  static void start() {
    spark = SparkSession.builder().master("local[2]").appName("ExactStreamingTest")
        .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "3")
        .getOrCreate();
  }

  @AfterAll
  static void stop() {
    spark.stop();
  }

  private static void writeFile(Path dir, int k, SplittableRandom r) throws Exception {
    StringBuilder csv = new StringBuilder();
    for (int i = 0; i < 300; i++) {
      String g = "g" + r.nextInt(4);
      double x = switch (g) {
        case "g0" -> 1e9 + r.nextDouble();
        case "g1" -> 0x1p50 + r.nextInt(-1000, 1000);
        case "g2" -> 1e160 * r.nextDouble();
        default -> r.nextDouble(-1, 1);
      };
      csv.append(g).append(',').append(Double.toString(x)).append('\n');
    }
    // written beside the directory and moved in, so the source never sees half a file
    Path staged = tmp.resolve("staged-" + k + ".csv");
    Files.writeString(staged, csv);
    Files.move(staged, dir.resolve("part-" + k + ".csv"));
  }

  /** Complete mode into a memory table. */
  private static StreamingQuery startQuery(Path in, Path checkpoint, String table) {
    try {
      return aggregate(in).writeStream().outputMode("complete").format("memory")
          .queryName(table).option("checkpointLocation", checkpoint.toString())
          .trigger(Trigger.ProcessingTime(0)).start();
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  private static Dataset<Row> aggregate(Path in) {
    Dataset<Row> stream = spark.readStream().schema(SCHEMA).option("maxFilesPerTrigger", 1)
        .csv(in.toString());
    return stream.groupBy("g").agg(exact_moments(col("x")).as("m"),
        exact_var_pop(col("x")).as("v"));
  }

  /** Update mode: each micro-batch's updated groups overwrite those in {@code latest}. */
  private static StreamingQuery startUpdating(Path in, Path checkpoint,
      Map<String, String> latest) {
    try {
      return aggregate(in).writeStream().outputMode("update")
          .foreachBatch((VoidFunction2<Dataset<Row>, Long>) (batch, id) ->
              latest.putAll(snapshot(batch)))
          .option("checkpointLocation", checkpoint.toString())
          .trigger(Trigger.ProcessingTime(0)).start();
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  private static TreeMap<String, String> snapshot(Dataset<Row> df) {
    TreeMap<String, String> out = new TreeMap<>();
    for (Row r : df.collectAsList()) {
      out.put(r.getString(0), r.getStruct(1).toString() + " " + r.get(2));
    }
    return out;
  }

  /** Waits for the query's first micro-batch (at most 2 minutes), then stops it. */
  private static void stopAfterFirstBatch(StreamingQuery query) throws Exception {
    long deadline = System.currentTimeMillis() + 120_000;
    while (query.recentProgress().length == 0 && System.currentTimeMillis() < deadline) {
      Thread.sleep(20);
    }
    query.stop();
    assertTrue(query.recentProgress().length >= 1, "the first query ran a batch");
  }

  @Test
  void aStreamRestartedFromItsCheckpointEndsWithTheBatchBits() throws Exception {
    Path in = Files.createDirectories(tmp.resolve("in"));
    Path checkpoint = tmp.resolve("checkpoint");
    SplittableRandom r = new SplittableRandom(42);
    for (int k = 0; k < 3; k++) {
      writeFile(in, k, r);
    }
    StreamingQuery first = startQuery(in, checkpoint, "exact_first");
    // stopped mid-stream, after its first micro-batch (one file each), files still waiting; more
    // arrive while it is down
    stopAfterFirstBatch(first);
    for (int k = 3; k < 6; k++) {
      writeFile(in, k, r);
    }
    StreamingQuery second = startQuery(in, checkpoint, "exact_second");
    for (int k = 6; k < 8; k++) {
      writeFile(in, k, r);
    }
    second.processAllAvailable();
    TreeMap<String, String> streamed = snapshot(spark.table("exact_second"));
    second.stop();
    assertTrue(second.exception().isEmpty(), "the query ran without error");

    Dataset<Row> batch = spark.read().schema(SCHEMA).csv(in.toString());
    TreeMap<String, String> expected = snapshot(batch.groupBy("g")
        .agg(exact_moments(col("x")), exact_var_pop(col("x"))));
    assertEquals(List.of("g0", "g1", "g2", "g3"), new ArrayList<>(expected.keySet()));
    assertEquals(expected, streamed);
    assertEquals(2400, batch.count());
  }

  @Test
  void updateModeRestartedFromItsCheckpointEndsWithTheBatchBits() throws Exception {
    Path in = Files.createDirectories(tmp.resolve("update-in"));
    Path checkpoint = tmp.resolve("update-checkpoint");
    SplittableRandom r = new SplittableRandom(7);
    for (int k = 0; k < 3; k++) {
      writeFile(in, k, r);
    }
    Map<String, String> latest = new ConcurrentHashMap<>();
    StreamingQuery first = startUpdating(in, checkpoint, latest);
    stopAfterFirstBatch(first);
    for (int k = 3; k < 6; k++) {
      writeFile(in, k, r);
    }
    StreamingQuery second = startUpdating(in, checkpoint, latest);
    second.processAllAvailable();
    second.stop();
    assertTrue(second.exception().isEmpty(), "the query ran without error");

    Dataset<Row> batch = spark.read().schema(SCHEMA).csv(in.toString());
    TreeMap<String, String> expected = snapshot(batch.groupBy("g")
        .agg(exact_moments(col("x")), exact_var_pop(col("x"))));
    assertEquals(expected, new TreeMap<>(latest));
    assertEquals(1800, batch.count());
  }
}
