package io.normstats.e2e;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.normstats.testing.Launcher;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kills the driver of {@code jobs/normstats} with SIGKILL while it writes, as a lost node or the
 * OOM killer would: nothing appears at the output path, an existing output stays byte for byte as it
 * was, and the next run to the same path succeeds and removes what the killed one left beside it.
 * While the embedded Spark runs, every socket its JVM listens on is bound to the loopback address
 * (read from /proc), and none is the web UI's port 4040.
 */
class KilledDriverIT {
  private static final Path IMAGES =
      Launcher.HOME.resolve("sample-data/fashion-mnist/t10k-images-idx3-ubyte.gz");

  @TempDir Path tmp;

  /** Starts the launcher; its process is the driver JVM (the launcher execs java). */
  private Process start(String... args) throws IOException {
    return Launcher.start(Map.of(), tmp.resolve("killed-stdout.txt"),
        tmp.resolve("killed-stderr.txt"), args);
  }

  /** Waits until {@code condition} holds for a path under {@code dir}'s parent, or fails. */
  private static void awaitBeside(Path target, Process p, Predicate<Path> condition, String what)
      throws Exception {
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
    while (System.nanoTime() < deadline) {
      if (!p.isAlive()) {
        fail("the job ended before " + what + ": exit " + p.exitValue());
      }
      try (Stream<Path> files = Files.walk(target.getParent())) {
        if (files.anyMatch(f -> f.toString().contains("." + target.getFileName() + ".normstats-")
            && condition.test(f))) {
          return;
        }
      } catch (java.io.UncheckedIOException | java.nio.file.NoSuchFileException e) {
        // a file vanished while walking: Spark renames as it writes; look again
      }
      Thread.sleep(10);
    }
    fail("timed out waiting for " + what);
  }

  private static void kill(Process p) throws InterruptedException {
    p.destroyForcibly(); // SIGKILL on Linux: no shutdown hook, no cleanup
    assertTrue(p.waitFor(1, TimeUnit.MINUTES));
    assertEquals(137, p.exitValue(), "killed by SIGKILL");
  }

  private List<String> beside(Path target) throws IOException {
    try (Stream<Path> files = Files.list(target.getParent())) {
      return files.map(f -> f.getFileName().toString())
          .filter(n -> n.startsWith("." + target.getFileName() + ".normstats-")).toList();
    }
  }

  @Test
  void killedWhileSparkWritesLeavesNoOutputAndTheNextRunCleansUp() throws Exception {
    Path out = tmp.resolve("normalized");
    String[] args = {"normalize", "--input", IMAGES.toString(), "--layer-norm",
        "--output-format", "csv", "--output", out.toString()};
    Process p = start(args);
    // Spark's tasks are writing part files under the staging directory's _temporary
    awaitBeside(out, p, f -> f.getFileName().toString().startsWith("part-"), "Spark writes");
    assertOnlyLoopbackListeners(p.pid());
    kill(p);

    assertFalse(Files.exists(out), "nothing at the output after SIGKILL");
    assertEquals(1, beside(out).size(), "the killed job's hidden staging directory: " + beside(out));

    Launcher.Result again = Launcher.launch(tmp, Map.of(), 5, args);
    assertEquals(0, again.exitCode(), again.stderr());
    assertTrue(Files.exists(out.resolve("_NORMSTATS")));
    assertEquals(List.of(), beside(out), "the stale staging directory was removed");
    assertTrue(again.stderr().contains("by a job that was killed"), again.stderr());
  }

  @Test
  void killedWhileReplacingLeavesThePreviousOutputIntact() throws Exception {
    Path out = tmp.resolve("stats");
    Path csv = Files.writeString(tmp.resolve("x.csv"), "x\n1\n2\n4\n");
    Launcher.Result first = Launcher.launch(tmp, Map.of(), 5, "stats", "--input", csv.toString(),
        "--output", out.toString());
    assertEquals(0, first.exitCode(), first.stderr());
    byte[] json = Files.readAllBytes(out.resolve("stats.json"));
    byte[] parquetDir = listing(out);

    Process p = start("stats", "--input", IMAGES.toString(), "--output", out.toString(),
        "--overwrite");
    awaitBeside(out, p, f -> true, "the staging directory");
    Thread.sleep(1500); // into the job: Spark started, reading
    kill(p);
    assertArrayEquals(json, Files.readAllBytes(out.resolve("stats.json")), "previous output intact");
    assertArrayEquals(parquetDir, listing(out));

    Launcher.Result replace = Launcher.launch(tmp, Map.of(), 5, "stats", "--input",
        IMAGES.toString(), "--output", out.toString(), "--overwrite");
    assertEquals(0, replace.exitCode(), replace.stderr());
    assertTrue(Files.readString(out.resolve("stats.json")).contains("\"rows\" : 10000"));
    assertEquals(List.of(), beside(out));
  }

  private static byte[] listing(Path dir) throws IOException {
    try (Stream<Path> files = Files.walk(dir)) {
      return String.join("\n", files.map(f -> dir.relativize(f) + " " + f.toFile().length())
          .sorted().toList()).getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }
  }

  /**
   * Every TCP socket process {@code pid} listens on is bound to 127.0.0.1 or ::1 (from
   * /proc/PID/fd and /proc/net/tcp{,6}), there is at least one (Spark's RPC), and none is 4040.
   */
  private static void assertOnlyLoopbackListeners(long pid) throws IOException {
    Set<String> inodes = new HashSet<>();
    try (Stream<Path> fds = Files.list(Path.of("/proc", Long.toString(pid), "fd"))) {
      for (Path fd : fds.toList()) {
        try {
          String link = Files.readSymbolicLink(fd).toString();
          if (link.startsWith("socket:[")) {
            inodes.add(link.substring(8, link.length() - 1));
          }
        } catch (IOException e) {
          // closed meanwhile
        }
      }
    }
    List<String> listening = new ArrayList<>();
    for (String table : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
      Path t = Path.of(table);
      if (!Files.exists(t)) {
        continue;
      }
      for (String line : Files.readAllLines(t).subList(1, Files.readAllLines(t).size())) {
        String[] f = line.trim().split("\\s+");
        if (!f[3].equals("0A") || !inodes.contains(f[9])) { // 0A: LISTEN
          continue;
        }
        String[] local = f[1].split(":");
        int port = Integer.parseInt(local[1], 16);
        String address = local[0].toUpperCase(Locale.ROOT);
        boolean loopback = address.equals("0100007F") // 127.0.0.1, little-endian
            || address.equals("00000000000000000000000001000000") // ::1
            || address.equals("0000000000000000FFFF00000100007F"); // ::ffff:127.0.0.1
        listening.add(address + ":" + port);
        assertTrue(loopback, "listens beyond loopback: " + address + ":" + port);
        assertTrue(port != 4040, "the Spark web UI is on");
      }
    }
    assertFalse(listening.isEmpty(), "no listening socket found for pid " + pid);
  }
}
