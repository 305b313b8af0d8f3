package io.normstats.e2e;

import static io.normstats.testing.ExactOracle.assertMoments;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.normstats.exact.FeatureMoments;
import io.normstats.testing.IdxFiles;
import io.normstats.testing.Launcher;
import io.normstats.testing.StatsJson;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs {@code jobs/normstats stats} as a user does, in its own process, on the sample Fashion-MNIST
 * images, and checks all 784 pixels against an exact BigDecimal computation from an independent IDX
 * reader. Runs after {@code package} (failsafe), so the launcher finds a fresh jar.
 */
class StatsLauncherIT {
  private static final Path IMAGES =
      Launcher.HOME.resolve("sample-data/fashion-mnist/t10k-images-idx3-ubyte.gz");

  @TempDir Path tmp;

  private Launcher.Result launch(String... args) throws IOException, InterruptedException {
    return Launcher.launch(tmp, Map.of(), 5, args);
  }

  @Test
  void statsOnTheSampleImagesIsExactForEveryPixel() throws Exception {
    Path dir = tmp.resolve("fashion-stats");
    Launcher.Result r = launch("stats", "--input", IMAGES.toString(), "--output", dir.toString());
    assertEquals(0, r.exitCode(), r.stderr());
    assertTrue(r.stdout().contains(dir + "/stats.json"), r.stdout());

    double[][] images = IdxFiles.readGzipImages(IMAGES);
    assertEquals(10_000, images.length);
    JsonNode stats = new ObjectMapper().readTree(dir.resolve("stats.json").toFile());
    assertEquals(10_000, stats.get("rows").asLong());
    JsonNode features = stats.get("features");
    assertEquals(784, features.size());
    double[] pixel = new double[images.length];
    for (int p = 0; p < 784; p++) {
      for (int i = 0; i < images.length; i++) {
        pixel[i] = images[i][p];
      }
      JsonNode f = features.get(p);
      assertEquals("image[" + p + "]", f.get("name").asText());
      FeatureMoments m = StatsJson.moments(f);
      assertMoments(pixel, m, "pixel " + p);
    }
  }

  @Test
  void aMissingInputIsOneLineAndExitCode2() throws Exception {
    Path dir = tmp.resolve("never");
    Launcher.Result r = launch("stats", "--input", tmp.resolve("missing.gz").toString(), "--output",
        dir.toString());
    assertEquals(2, r.exitCode(), r.stderr());
    List<String> errors = r.stderr().lines().filter(l -> l.startsWith("normstats")).toList();
    assertEquals(List.of("normstats stats: error: input " + tmp.resolve("missing.gz")
        + " does not exist"), errors, r.stderr());
    assertFalse(Files.exists(dir));
  }

  @Test
  void helpListsTheJobAndItsOptions() throws Exception {
    Launcher.Result r = launch("stats", "--help");
    assertEquals(0, r.exitCode(), r.stderr());
    for (String option : List.of("--input", "--format", "--features", "--vector-col",
        "--partitions", "--invalid", "--output", "--overwrite", "--master")) {
      assertTrue(r.stdout().contains(option), option + " in " + r.stdout());
    }
  }

  @Test
  void clusterOptionsPassThroughToSparkSubmit() throws Exception {
    // a stand-in for a Spark distribution whose spark-submit records what it was given
    Path sparkHome = Files.createDirectories(tmp.resolve("spark-home/bin"));
    Path recorded = tmp.resolve("spark-submit-args.txt");
    Path submit = sparkHome.resolve("spark-submit");
    Files.writeString(submit, "#!/bin/sh\nfor a in \"$@\"; do echo \"$a\"; done > " + recorded + "\n");
    assertTrue(submit.toFile().setExecutable(true));
    Launcher.Result r = Launcher.launch(tmp, Map.of("SPARK_HOME", sparkHome.getParent().toString()),
        5, "stats", "--input", "in.parquet", "--master", "spark://host:7077", "--deploy-mode",
        "cluster", "--conf", "spark.a=b c", "--executor-memory", "3g", "--num-executors", "4",
        "--output", "out");
    assertEquals(0, r.exitCode(), r.stderr());
    List<String> args = Files.readAllLines(recorded);
    int jar = args.indexOf(args.stream().filter(a -> a.matches(".*/target/normstats-.*\\.jar"))
        .findFirst().orElseThrow());
    assertEquals(List.of("stats", "--input", "in.parquet", "--output", "out"),
        args.subList(jar + 1, args.size()), "the job's own arguments after the jar");
    List<String> before = args.subList(0, jar);
    assertEquals("io.normstats.jobs.Main", before.get(before.indexOf("--class") + 1));
    assertEquals("spark://host:7077", before.get(before.indexOf("--master") + 1));
    assertEquals("cluster", before.get(before.indexOf("--deploy-mode") + 1));
    assertEquals("spark.a=b c", before.get(before.indexOf("--conf") + 1));
    assertEquals("3g", before.get(before.indexOf("--executor-memory") + 1));
    assertEquals("4", before.get(before.indexOf("--num-executors") + 1));
  }
}
