package io.normstats.e2e;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.normstats.cluster.LocalStandaloneCluster;
import io.normstats.testing.Launcher;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The pyspark package is a real Spark distribution (bin/spark-submit, jars/): the application jar
 * runs under its spark-submit in local mode, and the launcher's SPARK_HOME path submits to a
 * standalone cluster made of its jars, both with the same bits as the embedded run. What a user
 * who has nothing but {@code pip install pyspark} does (see the README's cluster section).
 */
class PysparkDistributionIT {
  private static final String SAMPLE =
      Launcher.HOME.resolve("sample-data/fashion-mnist/t10k-images-idx3-ubyte.gz").toString();
  private static final Map<String, String> ENV = Map.of("SPARK_LOCAL_IP", "127.0.0.1");

  @TempDir static Path tmp;
  private static Path sparkHome;
  private static LocalStandaloneCluster cluster;

  @BeforeAll
  static void findPyspark() throws Exception {
    String python = System.getProperty("normstats.python", "python3");
    Process p = new ProcessBuilder(python, "-c",
        "import os, pyspark; print(os.path.dirname(pyspark.__file__))").start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
    String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(0, p.waitFor(), "pyspark is not installed for " + python
        + " (mvn verify makes it with python/run-tests): " + err);
    sparkHome = Path.of(out);
    assertTrue(Files.isExecutable(sparkHome.resolve("bin/spark-submit")), sparkHome + " has "
        + "bin/spark-submit");
  }

  @AfterAll
  static void stopCluster() {
    if (cluster != null) {
      cluster.close();
    }
  }

  private static Path appJar() throws IOException {
    try (Stream<Path> files = Files.list(Launcher.HOME.resolve("app/target"))) {
      return files.filter(f -> f.getFileName().toString().matches("normstats-\\d.*\\.jar"))
          .findFirst().orElseThrow();
    }
  }

  private static byte[] embeddedStats() throws Exception {
    Path out = tmp.resolve("embedded");
    if (!Files.exists(out)) {
      Launcher.Result r = Launcher.launch(tmp, ENV, 5, "stats", "--input", SAMPLE,
          "--output", out.toString());
      assertEquals(0, r.exitCode(), r.stderr());
    }
    return Files.readAllBytes(out.resolve("stats.json"));
  }

  @Test
  void theJarRunsUnderPysparksSparkSubmitInLocalMode() throws Exception {
    Path out = tmp.resolve("spark-submit-local");
    Path log = tmp.resolve("spark-submit-local.log");
    ProcessBuilder builder = new ProcessBuilder(sparkHome.resolve("bin/spark-submit").toString(),
        "--master", "local[2]", "--class", "io.normstats.jobs.Main", appJar().toString(),
        "stats", "--input", SAMPLE, "--output", out.toString())
        .redirectErrorStream(true).redirectOutput(log.toFile());
    builder.environment().put("SPARK_HOME", sparkHome.toString());
    builder.environment().putAll(ENV);
    Process p = builder.start();
    assertTrue(p.waitFor(5, TimeUnit.MINUTES), "spark-submit timed out");
    assertEquals(0, p.exitValue(), Files.readString(log));
    assertArrayEquals(embeddedStats(), Files.readAllBytes(out.resolve("stats.json")));
  }

  @Test
  void theLauncherSubmitsWithPysparksDistributionToAStandaloneCluster() throws Exception {
    List<Path> jars;
    try (Stream<Path> files = Files.list(sparkHome.resolve("jars"))) {
      jars = files.filter(f -> f.toString().endsWith(".jar")).sorted().toList();
    }
    cluster = LocalStandaloneCluster.startAuthenticated(tmp.resolve("cluster"), jars, 2, 1, "1g");
    Path out = tmp.resolve("cluster-out");
    Map<String, String> env = new java.util.HashMap<>(ENV);
    env.put("SPARK_HOME", sparkHome.toString());
    Launcher.Result r = Launcher.launch(tmp, env, 5, "stats", "--input", SAMPLE,
        "--master", cluster.masterUrl(), "--executor-memory", "512m",
        "--properties-file", cluster.properties().toString(), "--output", out.toString());
    assertEquals(0, r.exitCode(), r.stderr());
    assertTrue(Files.readString(tmp.resolve("cluster/master.log")).contains("Registering app"),
        "the job ran as an application of the cluster");
    assertArrayEquals(embeddedStats(), Files.readAllBytes(out.resolve("stats.json")));
  }
}
