package io.normstats.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.normstats.ml.BatchNormModel;
import io.normstats.spark.TaskHook;
import io.normstats.testing.Jobs;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.spark.Success$;
import org.apache.spark.TaskContext;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Task failures: with 4 attempts per task ({@code local[2,4]}, Spark's spark.task.maxFailures for
 * local mode) and a {@link TaskHook} failing the first attempt of every other task after it has
 * done its work, the stats, compare, fit and recalibrate jobs write bit-identical results to a run
 * without failures, and the failures did happen (counted with a SparkListener).
 */
class TaskRetryTest {
  /** The local property that turns the failures on for the jobs this thread starts. */
  private static final String FAIL = "normstats.test.failFirstAttempts";
  private static SparkSession spark;
  private static final AtomicInteger FAILED_TASKS = new AtomicInteger();
  @TempDir static Path tmp;
  private static Path input;
  private static Path idx;

  @BeforeAll
  static void start() throws IOException {
    // a session another class left running would be returned instead, with its master
    SparkSession.getDefaultSession().foreach(s -> { s.stop(); return null; });
    SparkSession.getActiveSession().foreach(s -> { s.stop(); return null; });
    spark = SparkSession.builder().master("local[2,4]").appName("TaskRetryTest")
        .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.files.maxPartitionBytes", "16k") // several tasks per small input
        .config("spark.sql.files.openCostInBytes", "1k")
        .getOrCreate();
    assertEquals("local[2,4]", spark.sparkContext().master(), "4 attempts per task");
    TaskHook.install(site -> {
      TaskContext task = TaskContext.get();
      if (task != null && task.attemptNumber() == 0 && task.partitionId() % 2 == 0
          && "true".equals(task.getLocalProperty(FAIL))) {
        throw new IllegalStateException("injected failure of the first attempt of task "
            + task.partitionId() + " of stage " + task.stageId() + " (" + site + ")");
      }
    });
    spark.sparkContext().addSparkListener(new SparkListener() {
      @Override
      public void onTaskEnd(SparkListenerTaskEnd end) {
        if (end.reason() != Success$.MODULE$) {
          FAILED_TASKS.incrementAndGet();
        }
      }
    });
    SplittableRandom r = new SplittableRandom(5);
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < 6000; i++) {
      rows.add(RowFactory.create(1e9 + 10 * r.nextDouble(), r.nextGaussian() * 1e-3,
          (double) r.nextInt(-100, 100)));
    }
    StructType schema = new StructType().add("offset", DataTypes.DoubleType)
        .add("small", DataTypes.DoubleType).add("ints", DataTypes.DoubleType);
    input = tmp.resolve("input.parquet");
    spark.createDataFrame(rows, schema).repartition(6).write().parquet(input.toString());
    idx = Path.of("sample-data/fashion-mnist/t10k-images-idx3-ubyte.gz");
  }

  @AfterAll
  static void stop() {
    TaskHook.install(null);
    spark.stop();
  }

  /** Runs {@code job} into DIR, once without and once with injected failures; returns both dirs. */
  private static Path[] twice(String name, String job, String... args) throws Exception {
    Path[] out = {tmp.resolve(name + "-clean"), tmp.resolve(name + "-retried")};
    for (int k = 0; k < 2; k++) {
      List<String> all = new ArrayList<>(List.of(args));
      all.addAll(List.of("--output", out[k].toString()));
      spark.sparkContext().setLocalProperty(FAIL, k == 1 ? "true" : null);
      int before = FAILED_TASKS.get();
      Jobs.Run run;
      try {
        run = Jobs.run(job, all.toArray(new String[0]));
      } finally {
        spark.sparkContext().setLocalProperty(FAIL, null);
      }
      assertEquals(0, run.exitCode(), run.stderr());
      spark.sparkContext().listenerBus().waitUntilEmpty();
      int failures = FAILED_TASKS.get() - before;
      if (k == 0) {
        assertEquals(0, failures, job + " without injected failures");
      } else {
        // every other task of each pass fails once: at least half of them, and at least one
        assertTrue(failures >= 1, job + ": " + failures + " task attempts failed");
      }
    }
    return out;
  }

  private static void assertSameBytes(Path a, Path b) throws IOException {
    assertArrayEquals(Files.readAllBytes(a), Files.readAllBytes(b), a + " vs " + b);
  }

  @Test
  void statsOnParquetAndIdx() throws Exception {
    Path[] parquet = twice("stats-parquet", "stats", "--input", input.toString());
    assertSameBytes(parquet[0].resolve("stats.json"), parquet[1].resolve("stats.json"));
    Path[] images = twice("stats-idx", "stats", "--input", idx.toString());
    assertSameBytes(images[0].resolve("stats.json"), images[1].resolve("stats.json"));
  }

  @Test
  void recalibrateWithItsPassesMinibatchShuffleAndEvaluation() throws Exception {
    Path[] out = twice("recalibrate", "recalibrate", "--model",
        "sample-data/fashion-mnist-cnn/model.onnx", "--input", idx.toString(), "--partitions", "4",
        "--eval-input", idx.toString(), "--eval-labels",
        "sample-data/fashion-mnist/t10k-labels-idx1-ubyte.gz");
    for (String f : List.of("recalibrate.json", "model.onnx", "bn_stats.safetensors")) {
      assertSameBytes(out[0].resolve(f), out[1].resolve(f));
    }
  }

  @Test
  void compareWithItsShuffle() throws Exception {
    Path[] out = twice("compare", "compare", "--input", input.toString(), "--batch-sizes", "8,64",
        "--epochs", "2");
    assertSameBytes(out[0].resolve("compare.json"), out[1].resolve("compare.json"));
  }

  @Test
  void fit() throws Exception {
    Path[] out = twice("fit", "fit", "--input", input.toString());
    BatchNormModel clean = (BatchNormModel) PipelineModel.load(out[0].toString()).stages()[1];
    BatchNormModel retried = (BatchNormModel) PipelineModel.load(out[1].toString()).stages()[1];
    assertArrayEquals(clean.mean().toArray(), retried.mean().toArray());
    assertArrayEquals(clean.variance().toArray(), retried.variance().toArray());
  }
}
