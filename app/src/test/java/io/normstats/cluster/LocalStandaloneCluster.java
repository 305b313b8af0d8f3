package io.normstats.cluster;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.HttpURLConnection;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A real Spark standalone cluster on 127.0.0.1 made from the Maven dependencies alone: one Master
 * and {@code workers} Workers, each its own JVM, whose executors are more JVMs. For tests, and for
 * trying cluster submission without a Spark installation:
 *
 * <pre>
 *   java -cp "app/target/normstats-VERSION.jar:$(cat app/target/runtime-classpath.txt)" \
 *     io.normstats.cluster.LocalStandaloneCluster DIR [WORKERS]
 * </pre>
 * prints the master URL and runs until interrupted (Ctrl-C), then stops everything it started.
 *
 * <p>How (see the Spark standalone docs): a directory with {@code jars/} (links to every dependency
 * jar) and an empty {@code RELEASE} file serves as SPARK_HOME, which the Workers use to build their
 * executors' class path; SPARK_SCALA_VERSION=2.13 and SPARK_LOCAL_IP=127.0.0.1 keep everything,
 * web UIs included, on loopback. {@link #close()} (also run by a shutdown hook) kills every process
 * started, executors included.
 */
public final class LocalStandaloneCluster implements AutoCloseable {
  /** Spark's own JVM options for Java 17 (JavaModuleOptions). */
  static final List<String> JVM_OPTIONS = List.of("-XX:+IgnoreUnrecognizedVMOptions",
      "--add-modules=jdk.incubator.vector",
      "--add-opens=java.base/java.lang=ALL-UNNAMED", "--add-opens=java.base/java.lang.invoke=ALL-UNNAMED",
      "--add-opens=java.base/java.lang.reflect=ALL-UNNAMED", "--add-opens=java.base/java.io=ALL-UNNAMED",
      "--add-opens=java.base/java.net=ALL-UNNAMED", "--add-opens=java.base/java.nio=ALL-UNNAMED",
      "--add-opens=java.base/java.util=ALL-UNNAMED",
      "--add-opens=java.base/java.util.concurrent=ALL-UNNAMED",
      "--add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED",
      "--add-opens=java.base/jdk.internal.ref=ALL-UNNAMED", "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
      "--add-opens=java.base/sun.nio.cs=ALL-UNNAMED",
      "--add-opens=java.base/sun.security.action=ALL-UNNAMED",
      "--add-opens=java.base/sun.util.calendar=ALL-UNNAMED",
      "--add-opens=java.security.jgss/sun.security.krb5=ALL-UNNAMED",
      "-Djdk.reflect.useDirectMethodHandle=false", "-Dio.netty.tryReflectionSetAccessible=true");

  private final Path dir;
  private final Path properties;
  private final Path sparkHome;
  private final String masterUrl;
  private final int masterUiPort;
  private final List<Process> processes = new ArrayList<>();
  private final List<Path> workerDirs = new ArrayList<>();
  private final Thread hook = new Thread(this::stopAll, "stop-local-standalone-cluster");

  private LocalStandaloneCluster(Path dir, List<Path> jars, int workers, int cores, String memory,
      boolean authenticate) throws IOException, InterruptedException {
    this.dir = Files.createDirectories(dir.toAbsolutePath());
    this.properties = authenticate ? writeSecret(this.dir.resolve("spark-auth.conf")) : null;
    this.sparkHome = Files.createDirectories(this.dir.resolve("spark-home"));
    Path jarDir = Files.createDirectories(sparkHome.resolve("jars"));
    for (Path jar : jars) {
      Path link = jarDir.resolve(jar.getFileName());
      if (!Files.exists(link, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
        Files.createSymbolicLink(link, jar.toAbsolutePath());
      }
    }
    Files.writeString(sparkHome.resolve("RELEASE"), "");
    Runtime.getRuntime().addShutdownHook(hook);
    boolean started = false;
    try {
      int port = freePort();
      this.masterUiPort = freePort();
      this.masterUrl = "spark://127.0.0.1:" + port;
      start("master", "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port",
          Integer.toString(port), "--webui-port", Integer.toString(masterUiPort),
          "--properties-file", daemonProperties().toString());
      waitFor(() -> aliveWorkers() >= 0, "the master to start");
      for (int w = 0; w < workers; w++) {
        Path work = Files.createDirectories(this.dir.resolve("worker-" + w));
        workerDirs.add(work);
        start("worker-" + w, "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1",
            "--cores", Integer.toString(cores), "--memory", memory, "--work-dir", work.toString(),
            "--webui-port", Integer.toString(freePort()),
            "--properties-file", daemonProperties().toString(), masterUrl);
      }
      waitFor(() -> aliveWorkers() == workers, workers + " workers to register");
      started = true;
    } finally {
      if (!started) {
        close();
      }
    }
  }

  /**
   * Starts a cluster under {@code dir} from {@code jars} (every Spark dependency jar: the launcher's
   * runtime classpath), waiting until all workers have registered with the master.
   *
   * @param workers the number of Worker JVMs
   * @param coresPerWorker cores each Worker offers
   * @param memoryPerWorker memory each Worker offers, e.g. "1g"
   * @throws IOException if a process cannot start or the cluster does not come up within 60 s (the
   *     processes started are stopped)
   */
  public static LocalStandaloneCluster start(Path dir, List<Path> jars, int workers,
      int coresPerWorker, String memoryPerWorker) throws IOException, InterruptedException {
    return new LocalStandaloneCluster(dir, jars, workers, coresPerWorker, memoryPerWorker, false);
  }

  /**
   * Like {@link #start(Path, List, int, int, String)}, with Spark's authentication on: a random
   * secret is written to {@link #properties()} (readable by its owner only) with
   * {@code spark.authenticate true}; the Master and Workers read it with {@code --properties-file},
   * executors get it from their Worker, and an application must submit with the same file
   * ({@code jobs/normstats ... --properties-file FILE}) or its connections are refused.
   */
  public static LocalStandaloneCluster startAuthenticated(Path dir, List<Path> jars, int workers,
      int coresPerWorker, String memoryPerWorker) throws IOException, InterruptedException {
    return new LocalStandaloneCluster(dir, jars, workers, coresPerWorker, memoryPerWorker, true);
  }

  /**
   * The Spark properties file with {@code spark.authenticate} and its secret that applications
   * submit with, or null when authentication is off.
   */
  public Path properties() {
    return properties;
  }

  /** The daemons' properties: the secret, or an empty file (not the default spark-defaults.conf). */
  private Path daemonProperties() throws IOException {
    if (properties != null) {
      return properties;
    }
    Path empty = dir.resolve("spark-daemons.conf");
    Files.writeString(empty, "");
    return empty;
  }

  /**
   * Writes {@code spark.authenticate}, a random 256-bit secret and {@code spark.master.rest.enabled
   * false} to {@code file}, mode 600.
   */
  private static Path writeSecret(Path file) throws IOException {
    byte[] key = new byte[32];
    new java.security.SecureRandom().nextBytes(key);
    Files.deleteIfExists(file);
    Files.createFile(file, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
        java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")));
    // The Master's REST submission server cannot authenticate: it must be off (Spark refuses
    // to start otherwise).
    Files.writeString(file, "spark.authenticate true\nspark.authenticate.secret "
        + java.util.HexFormat.of().formatHex(key) + "\nspark.master.rest.enabled false\n");
    return file;
  }

  /** The jars of the launcher's runtime classpath file (app/target/runtime-classpath.txt). */
  public static List<Path> classpath(Path classpathFile) throws IOException {
    List<Path> jars = new ArrayList<>();
    for (String entry : Files.readString(classpathFile).strip().split(File.pathSeparator)) {
      if (entry.endsWith(".jar")) {
        jars.add(Paths.get(entry));
      }
    }
    return jars;
  }

  /** The master URL, {@code spark://127.0.0.1:PORT}. */
  public String masterUrl() {
    return masterUrl;
  }

  /** The SPARK_HOME the workers use. */
  public Path sparkHome() {
    return sparkHome;
  }

  /** Each worker's work directory (executor logs under app-ID/EXECUTOR-ID). */
  public List<Path> workerDirs() {
    return List.copyOf(workerDirs);
  }

  /** The processes of the executors the workers launched, running now. */
  public List<ProcessHandle> executors() {
    List<ProcessHandle> out = new ArrayList<>();
    for (Process p : processes) {
      p.descendants().filter(h -> h.info().commandLine().orElse("")
          .contains("CoarseGrainedExecutorBackend")).forEach(out::add);
    }
    return out;
  }

  /** The number of ALIVE workers the master reports, or -1 if it does not answer. */
  int aliveWorkers() {
    try {
      HttpURLConnection c = (HttpURLConnection) URI.create("http://127.0.0.1:" + masterUiPort
          + "/json/").toURL().openConnection();
      c.setConnectTimeout(1000);
      c.setReadTimeout(2000);
      String json = new String(c.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      Matcher m = Pattern.compile("\"aliveworkers\"\\s*:\\s*(\\d+)").matcher(json);
      return m.find() ? Integer.parseInt(m.group(1)) : -1;
    } catch (IOException e) {
      return -1;
    }
  }

  private void start(String name, String mainClass, String... args) throws IOException {
    List<String> command = new ArrayList<>();
    command.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(JVM_OPTIONS);
    command.addAll(List.of("-Xmx512m", "-cp", sparkHome.resolve("jars") + File.separator + "*",
        mainClass));
    command.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
        .redirectOutput(dir.resolve(name + ".log").toFile());
    Map<String, String> env = pb.environment();
    env.put("SPARK_HOME", sparkHome.toString());
    env.put("SPARK_SCALA_VERSION", "2.13");
    env.put("SPARK_LOCAL_IP", "127.0.0.1");
    env.put("JAVA_HOME", System.getProperty("java.home"));
    processes.add(pb.start());
  }

  private interface Condition {
    boolean holds();
  }

  private void waitFor(Condition condition, String what) throws IOException, InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (!condition.holds()) {
      for (Process p : processes) {
        if (!p.isAlive()) {
          throw new IOException("a cluster process exited (" + p.exitValue() + ") while waiting for "
              + what + "; see the logs in " + dir);
        }
      }
      if (System.nanoTime() > deadline) {
        throw new IOException("timed out waiting for " + what + "; see the logs in " + dir);
      }
      Thread.sleep(200);
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  /** Kills every process started, executors first, and waits for them. */
  @Override
  public void close() {
    stopAll();
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException shuttingDown) {
      // already running the hook
    }
  }

  private synchronized void stopAll() {
    for (Process p : processes) {
      p.descendants().forEach(ProcessHandle::destroyForcibly);
    }
    for (Process p : processes) {
      p.destroyForcibly();
    }
    for (Process p : processes) {
      try {
        p.waitFor(30, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  /**
   * Starts a cluster and runs until interrupted: {@code [--authenticate] DIR [WORKERS]}; prints the
   * master URL (and with {@code --authenticate}, the properties file to submit with).
   */
  public static void main(String[] args) throws Exception {
    List<String> rest = new ArrayList<>(List.of(args));
    boolean authenticate = rest.remove("--authenticate");
    if (rest.isEmpty()) {
      System.err.println("usage: LocalStandaloneCluster [--authenticate] DIR [WORKERS]  (run from "
          + "the project directory, after mvn package)");
      System.exit(2);
    }
    int workers = rest.size() > 1 ? Integer.parseInt(rest.get(1)) : 2;
    try (LocalStandaloneCluster cluster = new LocalStandaloneCluster(Path.of(rest.get(0)),
        classpath(Path.of("app/target/runtime-classpath.txt")), workers, 1, "1g", authenticate)) {
      System.out.println(cluster.masterUrl());
      if (authenticate) {
        System.out.println("submit with --properties-file " + cluster.properties());
      }
      Thread.currentThread().join();
    } catch (UncheckedIOException e) {
      throw e.getCause();
    }
  }
}
