package io.normstats.e2e;

import static io.normstats.testing.StatsJson.num;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.normstats.testing.Launcher;
import java.io.BufferedOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code jobs/normstats compare} in its own process, as a user runs it. */
class CompareLauncherIT {
  @TempDir Path tmp;

  @Test
  void comparesOnTheSampleImages() throws Exception {
    Path dir = tmp.resolve("fashion-compare");
    Launcher.Result r = Launcher.launch(tmp, Map.of(), 5, "compare", "--input",
        Launcher.HOME.resolve("sample-data/fashion-mnist/t10k-images-idx3-ubyte.gz").toString(),
        "--output", dir.toString());
    assertEquals(0, r.exitCode(), r.stderr());
    assertTrue(r.stdout().contains(dir + "/compare.json"), r.stdout());
    assertTrue(r.stdout().contains("median over features of |var - var_pop| / var_pop"), r.stdout());
    JsonNode json = new ObjectMapper().readTree(dir.resolve("compare.json").toFile());
    assertEquals(4 * 6, json.get("results").size());
    assertEquals(4 * 3, json.get("trace").size());
    assertEquals(784, json.get("results").get(0).get("features").size());
  }

  /**
   * 2,000,000 rows of 64 features at batch sizes 2 and 4: 1,500,000 batches, whose mu_B and
   * sigma2_B alone (1.5e6 x 64 x 2 doubles, 1.5 GB) are three times the whole 512 MB heap of the
   * driver, which in local mode also runs the tasks. The job must finish, with the estimates that
   * can be checked exactly being exact.
   */
  @Test
  void moreBatchesThanTheDriverCouldHold() throws Exception {
    int rows = 2_000_000;
    int features = 64;
    long heap = 512L << 20;
    assertTrue(1_500_000L * features * 2 * 8 > 2 * heap);
    Path input = tmp.resolve("random.idx2-ubyte");
    SplittableRandom random = new SplittableRandom(8);
    try (DataOutputStream out = new DataOutputStream(new BufferedOutputStream(
        Files.newOutputStream(input), 1 << 20))) {
      out.writeInt(0x0802); // unsigned bytes, 2 dimensions
      out.writeInt(rows);
      out.writeInt(features);
      byte[] row = new byte[features];
      for (int i = 0; i < rows; i++) {
        for (int j = 0; j < features; j++) {
          row[j] = (byte) random.nextInt(j + 2); // feature j uniform on 0..j+1
        }
        ((OutputStream) out).write(row);
      }
    }
    Path dir = tmp.resolve("big-compare");
    Launcher.Result r = Launcher.launch(tmp, Map.of("NORMSTATS_JAVA_OPTS", "-Xmx512m"), 15,
        "compare", "--input", input.toString(), "--batch-sizes", "2,4", "--trace-points", "50",
        "--output", dir.toString());
    assertEquals(0, r.exitCode(), r.stderr());
    JsonNode json = new ObjectMapper().readTree(dir.resolve("compare.json").toFile());
    assertEquals(rows, json.get("exact").get("rows").asLong());
    assertEquals(1_000_000, json.get("schedules").get(0).get("steps").asLong());
    assertEquals(500_000, json.get("schedules").get(1).get("steps").asLong());
    for (JsonNode result : json.get("results")) {
      String estimator = result.get("estimator").asText();
      for (JsonNode f : result.get("features")) {
        int j = f.get("index").asInt();
        double exactMean = num(f.get("exact_mean"));
        double exactVar = num(f.get("exact_var"));
        // the features' true distribution: uniform on 0..j+1
        double k = j + 2;
        assertEquals((k - 1) / 2, exactMean, 0.01 * k, "feature " + j);
        assertEquals((k * k - 1) / 12, exactVar, 0.01 * k * k, "feature " + j);
        switch (estimator) {
          // every row is in exactly one batch: these are the dataset statistics
          case "precise" -> {
            assertEquals(exactMean, num(f.get("mean")), 1e-12 * exactMean);
            assertEquals(exactVar, num(f.get("var")), 1e-12 * exactVar);
          }
          case "batch" -> assertEquals(exactMean, num(f.get("mean")), 1e-12 * exactMean);
          // unbiased over 500,000 or more batches
          case "average", "cma" -> assertEquals(1, num(f.get("var_ratio")), 0.01);
          default -> { }
        }
      }
    }
  }
}
