package io.normstats.e2e;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.normstats.cluster.LocalStandaloneCluster;
import io.normstats.testing.Launcher;
import java.io.BufferedOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The jobs submitted to a real standalone cluster (one Master, two Workers, executors in their own
 * JVMs, all from the Maven dependencies) with Spark's authentication on (spark.authenticate and a
 * shared secret, passed with --properties-file), through jobs/normstats: results bit-identical to
 * local mode, tasks on both workers' executors, a job that survives an executor killed with SIGKILL,
 * and connections without the secret refused.
 */
class ClusterIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String SAMPLE =
      Launcher.HOME.resolve("sample-data/fashion-mnist/t10k-images-idx3-ubyte.gz").toString();
  @TempDir static Path tmp;
  private static LocalStandaloneCluster cluster;

  @BeforeAll
  static void startCluster() throws Exception {
    // Spark's jars only, as a Spark distribution ships them: normstats' modules and their own
    // dependencies (ONNX Runtime with its native libraries, picocli, XChart) reach the executors in
    // the application jar, as on a real cluster.
    List<Path> spark = LocalStandaloneCluster.classpath(
        Launcher.HOME.resolve("app/target/runtime-classpath.txt")).stream()
        .filter(j -> !j.getFileName().toString()
            .matches("(onnxruntime|picocli|xchart|normstats-(core|spark|onnx))-.*"))
        .toList();
    cluster = LocalStandaloneCluster.startAuthenticated(tmp.resolve("cluster"), spark, 2, 1, "1g");
  }

  @AfterAll
  static void stopCluster() {
    if (cluster != null) {
      cluster.close();
    }
  }

  private static final Map<String, String> ENV = Map.of("SPARK_LOCAL_IP", "127.0.0.1");

  /** The cluster options of a run whose event log goes to {@code events}. */
  private static List<String> onCluster(Path events, String... args) throws IOException {
    Files.createDirectories(events);
    List<String> all = new ArrayList<>(List.of(args));
    all.addAll(List.of("--master", cluster.masterUrl(), "--executor-memory", "512m",
        "--properties-file", cluster.properties().toString(),
        "--conf", "spark.eventLog.enabled=true", "--conf", "spark.eventLog.compress=false",
        "--conf", "spark.eventLog.dir=" + events.toUri()));
    return all;
  }

  private static void ok(Launcher.Result r) {
    assertEquals(0, r.exitCode(), r.stderr());
  }

  @Test
  void statsCompareAndFitOnTheClusterAreBitIdenticalToLocalMode() throws Exception {
    String[][] jobs = {
        {"stats", "--input", SAMPLE},
        {"compare", "--input", SAMPLE, "--batch-sizes", "8,100", "--trace-points", "20"},
        {"fit", "--input", SAMPLE, "--safetensors-dtype", "F64"}};
    String[] outputs = {"stats.json", "compare.json", "bn.safetensors"};
    for (int k = 0; k < jobs.length; k++) {
      String job = jobs[k][0];
      Path local = tmp.resolve(job + "-local");
      Path remote = tmp.resolve(job + "-cluster");
      Path events = tmp.resolve(job + "-events");
      List<String> localArgs = new ArrayList<>(List.of(jobs[k]));
      localArgs.addAll(List.of("--output", local.toString()));
      List<String> clusterArgs = onCluster(events, jobs[k]);
      clusterArgs.addAll(List.of("--output", remote.toString()));
      if (job.equals("fit")) {
        localArgs.addAll(List.of("--safetensors", local.resolve("../fit-local.safetensors").normalize().toString()));
        clusterArgs.addAll(List.of("--safetensors", remote.resolve("../fit-cluster.safetensors").normalize().toString()));
      }
      ok(Launcher.launch(tmp, ENV, 5, localArgs.toArray(new String[0])));
      ok(Launcher.launch(tmp, ENV, 5, clusterArgs.toArray(new String[0])));
      if (job.equals("fit")) {
        assertArrayEquals(Files.readAllBytes(tmp.resolve("fit-local.safetensors")),
            Files.readAllBytes(tmp.resolve("fit-cluster.safetensors")), "fit statistics");
      } else {
        assertArrayEquals(Files.readAllBytes(local.resolve(outputs[k])),
            Files.readAllBytes(remote.resolve(outputs[k])), job + " output");
      }
      Set<String> workers = workersThatRanTasks(events);
      assertEquals(2, workers.size(), job + ": tasks ran on executors of " + workers);
    }
  }

  @Test
  void recalibrateOnTheClusterIsByteIdenticalToLocalMode() throws Exception {
    String labels = Launcher.HOME.resolve("sample-data/fashion-mnist/t10k-labels-idx1-ubyte.gz")
        .toString();
    String[] job = {"recalibrate", "--model",
        Launcher.HOME.resolve("sample-data/fashion-mnist-cnn/model.onnx").toString(),
        "--input", SAMPLE, "--eval-input", SAMPLE, "--eval-labels", labels};
    Path local = tmp.resolve("recalibrate-local");
    Path remote = tmp.resolve("recalibrate-cluster");
    Path events = tmp.resolve("recalibrate-events");
    List<String> localArgs = new ArrayList<>(List.of(job));
    localArgs.addAll(List.of("--output", local.toString()));
    List<String> clusterArgs = onCluster(events, job);
    clusterArgs.addAll(List.of("--partitions", "4", "--output", remote.toString()));
    ok(Launcher.launch(tmp, ENV, 5, localArgs.toArray(new String[0])));
    ok(Launcher.launch(tmp, ENV, 5, clusterArgs.toArray(new String[0])));
    for (String f : List.of("recalibrate.json", "model.onnx", "bn_stats.safetensors")) {
      assertArrayEquals(Files.readAllBytes(local.resolve(f)), Files.readAllBytes(remote.resolve(f)),
          "recalibrate " + f);
    }
    Set<String> workers = workersThatRanTasks(events);
    assertEquals(2, workers.size(), "recalibrate: tasks ran on executors of " + workers);
  }

  /**
   * A model over 2 GB on the cluster, played by the zoo's ResNet with the driver's inline limit
   * set 100 KB under its size: its large tensors reach the executors broadcast (in local mode the
   * tasks use the driver's copy), and the statistics and evaluation are the bytes local mode
   * writes for the model read whole.
   */
  @Test
  void aModelOver2GbOnTheClusterGivesTheStatisticsOfTheWholeModel() throws Exception {
    String[] job = {"recalibrate", "--model",
        Launcher.HOME.resolve("sample-data/zoo/resnet/dynamo.onnx").toString(),
        "--input", SAMPLE, "--eval-input", SAMPLE, "--sample-rows", "2000"};
    Path local = tmp.resolve("large-local");
    Path remote = tmp.resolve("large-cluster");
    Path events = tmp.resolve("large-events");
    List<String> localArgs = new ArrayList<>(List.of(job));
    localArgs.addAll(List.of("--output", local.toString()));
    ok(Launcher.launch(tmp, ENV, 5, localArgs.toArray(new String[0])));
    long size = io.normstats.onnx.OnnxModel.parse(Files.readAllBytes(local.resolve("model.onnx")),
        "m").toByteArray().length;
    Map<String, String> env = new java.util.HashMap<>(ENV);
    env.put("NORMSTATS_JAVA_OPTS", "-Dnormstats.onnx.inlineLimit=" + (size - 100_000));
    List<String> clusterArgs = onCluster(events, job);
    clusterArgs.addAll(List.of("--partitions", "4", "--output", remote.toString()));
    ok(Launcher.launch(tmp, env, 5, clusterArgs.toArray(new String[0])));
    assertTrue(Files.size(remote.resolve("model.onnx.data")) >= 100_000, "data beside the model");
    for (String f : List.of("recalibrate.json", "bn_stats.safetensors")) {
      assertArrayEquals(Files.readAllBytes(local.resolve(f)), Files.readAllBytes(remote.resolve(f)),
          "recalibrate " + f);
    }
    assertEquals(2, workersThatRanTasks(events).size(), "tasks ran on both executors");
  }

  /**
   * The cluster authenticates: its Master logs it, an RPC client with the secret reaches the Master,
   * and one with another secret or none is refused.
   */
  @Test
  void connectionsWithoutTheSecretAreRefused() throws Exception {
    assertTrue(Files.readString(tmp.resolve("cluster/master.log"))
        .contains("authentication enabled"), "the Master runs with spark.authenticate");
    String secret = Files.readAllLines(cluster.properties()).stream()
        .filter(l -> l.startsWith("spark.authenticate.secret ")).findFirst().orElseThrow()
        .substring("spark.authenticate.secret ".length()).strip();
    assertTrue(reachMaster(secret), "with the secret");
    assertFalse(reachMaster("0123456789abcdef"), "with another secret");
    assertFalse(reachMaster(null), "without authentication");
  }

  /** Whether a Spark RPC client with {@code secret} (null: authentication off) reaches the Master. */
  private static boolean reachMaster(String secret) throws Exception {
    org.apache.spark.SparkConf conf = new org.apache.spark.SparkConf()
        .set("spark.rpc.lookupTimeout", "20s").set("spark.network.timeout", "20s");
    if (secret != null) {
      conf.set("spark.authenticate", "true").set("spark.authenticate.secret", secret);
    }
    org.apache.spark.SecurityManager security = new org.apache.spark.SecurityManager(conf,
        scala.Option.empty(), org.apache.spark.internal.config.package$.MODULE$.AUTH_SECRET_FILE());
    org.apache.spark.rpc.RpcEnv rpc = org.apache.spark.rpc.RpcEnv.create("probe", "127.0.0.1", 0,
        conf, security, true);
    try {
      java.net.URI master = java.net.URI.create(cluster.masterUrl());
      rpc.setupEndpointRef(org.apache.spark.rpc.RpcAddress.apply(master.getHost(),
          master.getPort()), "Master");
      return true;
    } catch (Exception e) {
      return false;
    } finally {
      rpc.shutdown();
    }
  }

  /**
   * The workers (by their web UI address in the executors' log URLs) whose executors ran tasks,
   * from the Spark event log.
   */
  private static Set<String> workersThatRanTasks(Path events) throws IOException {
    Map<String, String> workerOfExecutor = new HashMap<>();
    Set<String> executorsWithTasks = new TreeSet<>();
    try (Stream<Path> files = Files.walk(events)) { // Spark 4 rolls event logs in directories
      for (Path log : files.filter(ClusterIT::isEventLog).toList()) {
        for (String line : Files.readAllLines(log)) {
          JsonNode e = JSON.readTree(line);
          String type = e.path("Event").asText();
          if (type.equals("SparkListenerExecutorAdded")) {
            String url = e.path("Executor Info").path("Log Urls").path("stdout").asText();
            workerOfExecutor.put(e.path("Executor ID").asText(),
                url.replaceAll("^(https?://[^/]+)/.*$", "$1"));
          } else if (type.equals("SparkListenerTaskEnd")) {
            executorsWithTasks.add(e.path("Task Info").path("Executor ID").asText());
          }
        }
      }
    }
    Set<String> workers = new TreeSet<>();
    for (String id : executorsWithTasks) {
      assertTrue(workerOfExecutor.containsKey(id), "executor " + id + " was added");
      workers.add(workerOfExecutor.get(id));
    }
    return workers;
  }

  /** An event log file (not Hadoop's hidden .crc checksums). */
  private static boolean isEventLog(Path p) {
    return Files.isRegularFile(p) && !p.getFileName().toString().startsWith(".");
  }

  @Test
  void theStatsJobSurvivesAnExecutorKilledWithSigkill() throws Exception {
    Path input = tmp.resolve("wide.idx2-ubyte");
    SplittableRandom random = new SplittableRandom(12);
    try (DataOutputStream out = new DataOutputStream(new BufferedOutputStream(
        Files.newOutputStream(input), 1 << 20))) {
      out.writeInt(0x0802);
      out.writeInt(1_500_000);
      out.writeInt(96);
      byte[] row = new byte[96];
      for (int i = 0; i < 1_500_000; i++) {
        random.nextBytes(row);
        out.write(row);
      }
    }
    Path local = tmp.resolve("kill-local");
    ok(Launcher.launch(tmp, ENV, 5, "stats", "--input", input.toString(), "--output",
        local.toString()));

    Path remote = tmp.resolve("kill-cluster");
    Path events = tmp.resolve("kill-events");
    List<String> args = onCluster(events, "stats", "--input", input.toString(), "--partitions", "24",
        "--output", remote.toString());
    Process job = Launcher.start(ENV, tmp.resolve("kill-job.log"), tmp.resolve("kill-job.log"),
        args.toArray(new String[0]));
    try {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
      while (cluster.executors().size() < 2 && System.nanoTime() < deadline && job.isAlive()) {
        Thread.sleep(100);
      }
      assertEquals(2, cluster.executors().size(), "two executors running");
      Thread.sleep(3000); // into the job's tasks
      ProcessHandle victim = cluster.executors().get(0);
      assertTrue(job.isAlive(), "the job is still running when the executor is killed");
      assertTrue(victim.destroyForcibly(), "SIGKILL sent");
      victim.onExit().get(30, TimeUnit.SECONDS);
      assertTrue(job.waitFor(5, TimeUnit.MINUTES), "the job finishes");
      assertEquals(0, job.exitValue(), Files.readString(tmp.resolve("kill-job.log")));
    } finally {
      job.descendants().forEach(ProcessHandle::destroyForcibly);
      job.destroyForcibly();
    }
    assertArrayEquals(Files.readAllBytes(local.resolve("stats.json")),
        Files.readAllBytes(remote.resolve("stats.json")), "bit-identical after the executor loss");
    StringBuilder log = new StringBuilder();
    try (Stream<Path> files = Files.walk(events)) {
      for (Path f : files.filter(ClusterIT::isEventLog).toList()) {
        log.append(Files.readString(f));
      }
    }
    assertTrue(log.indexOf("SparkListenerExecutorRemoved") >= 0
        || log.indexOf("ExecutorLostFailure") >= 0,
        "the event log records the lost executor");
  }
}
