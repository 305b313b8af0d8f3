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

  /**
   * A JDK of feature version 25 or later: {@code NORMSTATS_TEST_JDK} if set, else the newest under
   * /usr/lib/jvm; null if there is none.
   */
  private static Path newJdk() throws IOException {
    String given = System.getenv("NORMSTATS_TEST_JDK");
    List<Path> candidates = new java.util.ArrayList<>();
    if (given != null && !given.isEmpty()) {
      candidates.add(Path.of(given));
    } else if (Files.isDirectory(Path.of("/usr/lib/jvm"))) {
      try (java.util.stream.Stream<Path> jdks = Files.list(Path.of("/usr/lib/jvm"))) {
        jdks.forEach(candidates::add);
      }
    }
    return candidates.stream().filter(j -> feature(j) >= 25)
        .max(java.util.Comparator.comparingInt(StatsLauncherIT::feature)).orElse(null);
  }

  /** The JDK's feature version from its release file (0 without one). */
  private static int feature(Path jdk) {
    try {
      for (String line : Files.readAllLines(jdk.resolve("release"))) {
        java.util.regex.Matcher m =
            java.util.regex.Pattern.compile("JAVA_VERSION=\"(\\d+).*").matcher(line);
        if (m.matches() && Files.isExecutable(jdk.resolve("bin/java"))) {
          return Integer.parseInt(m.group(1));
        }
      }
    } catch (IOException e) {
      return 0;
    }
    return 0;
  }

  /**
   * On JDK 25 or later the launcher writes an ahead-of-time cache on a job's first run (under
   * another name until the run succeeds) and starts later runs from it, with the same results as
   * Java 17.
   */
  @Test
  void onJdk25TheFirstRunWritesTheAotCacheAndLaterRunsStartFromIt() throws Exception {
    Path jdk = newJdk();
    org.junit.jupiter.api.Assumptions.assumeTrue(jdk != null,
        "no JDK 25 or later here (NORMSTATS_TEST_JDK names one)");
    Path cache = Launcher.HOME.resolve("app/target/cds/stats-jdk" + feature(jdk) + ".aot");
    Files.deleteIfExists(cache);
    Map<String, Map<String, String>> runs = new java.util.LinkedHashMap<>();
    runs.put("java17", Map.of());
    runs.put("first", Map.of("JAVA_HOME", jdk.toString(), "NORMSTATS_CDS", ""));
    // the JVM's own log says which cache it opened
    runs.put("second", Map.of("JAVA_HOME", jdk.toString(), "NORMSTATS_CDS", "",
        "NORMSTATS_JAVA_OPTS", "-Xlog:aot=info"));
    java.nio.file.attribute.FileTime written = null;
    for (Map.Entry<String, Map<String, String>> run : runs.entrySet()) {
      Launcher.Result r = Launcher.launch(tmp, run.getValue(), 5, "stats", "--input",
          IMAGES.toString(), "--output", tmp.resolve(run.getKey()).toString());
      assertEquals(0, r.exitCode(), run.getKey() + ": " + r.stderr());
      if (run.getKey().equals("first")) {
        assertTrue(Files.size(cache) > 0, "the first run on " + jdk + " wrote " + cache);
        written = Files.getLastModifiedTime(cache);
      }
      if (run.getKey().equals("second")) {
        assertTrue(r.stdout().contains("Opened AOT cache " + cache.toAbsolutePath().normalize()),
            r.stdout().lines().filter(l -> l.contains("[aot]")).limit(5).toList().toString());
      }
    }
    try (java.util.stream.Stream<Path> left = Files.list(cache.getParent())) {
      assertEquals(List.of(), left.filter(f -> f.getFileName().toString().startsWith(
          cache.getFileName() + ".")).toList(), "no partial cache is left");
    }
    String java17 = Files.readString(tmp.resolve("java17/stats.json"));
    assertEquals(java17, Files.readString(tmp.resolve("first/stats.json")));
    assertEquals(java17, Files.readString(tmp.resolve("second/stats.json")));
    assertEquals(written, Files.getLastModifiedTime(cache), "the second run left the cache");
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
        "--partitions", "--handle-invalid", "--output", "--overwrite", "--master")) {
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
