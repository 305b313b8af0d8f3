package io.normstats.output;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.normstats.InputException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.UUID;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * OutputDirectory on the local file system, without Spark: all-or-nothing commits, and the repair of
 * what a driver killed mid-write leaves beside the target (a stale staging directory, a previous
 * output moved aside), decided by whether the owner process is gone.
 */
class OutputDirectoryTest {
  private static final Configuration CONF = new Configuration();
  @TempDir Path tmp;

  /** The PID of a process that has exited. */
  private static long deadPid() throws IOException, InterruptedException {
    Process p = new ProcessBuilder("true").start();
    p.waitFor();
    return p.pid();
  }

  private Path side(String target, String kind, long pid, String host) throws IOException {
    Path p = tmp.resolve("." + target + ".normstats-" + kind + pid + "@" + host + "-"
        + UUID.randomUUID().toString().replace("-", ""));
    Files.createDirectories(p);
    Files.writeString(p.resolve("part"), "partial");
    return p;
  }

  private Path output(String name, String content) throws IOException {
    Path dir = Files.createDirectories(tmp.resolve(name));
    Files.writeString(dir.resolve("stats.json"), content);
    Files.writeString(dir.resolve(OutputDirectory.MARKER), "stats\n");
    return dir;
  }

  @Test
  void theTargetAppearsOnlyAtCommitAndAPreviousOneStaysUntilThen() throws IOException {
    Path target = output("out", "old");
    OutputDirectory out = OutputDirectory.prepare(CONF, target.toString(), true);
    Files.writeString(Path.of(out.file("stats.json").toUri()), "new");
    assertEquals("old", Files.readString(target.resolve("stats.json")), "intact until commit");
    out.commit("stats");
    assertEquals("new", Files.readString(target.resolve("stats.json")));
    try (var left = Files.list(tmp)) {
      assertEquals(1, left.count(), "nothing beside the output");
    }
    OutputDirectory failed = OutputDirectory.prepare(CONF, tmp.resolve("never").toString(), false);
    failed.abort();
    assertFalse(Files.exists(tmp.resolve("never")));
    try (var left = Files.list(tmp)) {
      assertEquals(1, left.count(), "an aborted job leaves nothing");
    }
  }

  @Test
  void staleStagingOfADeadProcessIsDeletedALiveOneIsKept() throws Exception {
    Path dead = side("out", "", deadPid(), OutputDirectory.HOST);
    Path live = side("out", "", ProcessHandle.current().pid(), OutputDirectory.HOST);
    Path otherTarget = side("out2", "", deadPid(), OutputDirectory.HOST);
    OutputDirectory.prepare(CONF, tmp.resolve("out").toString(), false).abort();
    assertFalse(Files.exists(dead));
    assertTrue(Files.exists(live), "a running job's staging directory is left alone");
    assertTrue(Files.exists(otherTarget), "another target's is not ours to clean");
  }

  @Test
  void anotherHostsStagingIsDeletedOnlyWhenADayOld() throws Exception {
    Path recent = side("out", "", 12345, "elsewhere.example");
    Path old = side("out", "", 12346, "elsewhere.example");
    Files.setLastModifiedTime(old, FileTime.fromMillis(System.currentTimeMillis() - 25L * 3600_000));
    OutputDirectory.prepare(CONF, tmp.resolve("out").toString(), false).abort();
    assertTrue(Files.exists(recent));
    assertFalse(Files.exists(old));
  }

  @Test
  void aPreviousOutputMovedAsideByAKilledCommitIsMovedBack() throws Exception {
    // killed between "target -> old" and "staging -> target": the old output is beside, no target
    Path aside = output(".out.normstats-old-" + deadPid() + "@" + OutputDirectory.HOST + "-"
        + UUID.randomUUID().toString().replace("-", ""), "previous");
    InputException refused = assertThrows(InputException.class,
        () -> OutputDirectory.prepare(CONF, tmp.resolve("out").toString(), false));
    assertTrue(refused.getMessage().contains("already exists"), refused.getMessage());
    assertEquals("previous", Files.readString(tmp.resolve("out/stats.json")));
    assertFalse(Files.exists(aside));

    // killed after "staging -> target", before deleting the old one: the old one goes
    Path leftover = output(".out.normstats-old-" + deadPid() + "@" + OutputDirectory.HOST + "-"
        + UUID.randomUUID().toString().replace("-", ""), "older");
    OutputDirectory.prepare(CONF, tmp.resolve("out").toString(), true).abort();
    assertFalse(Files.exists(leftover));
    assertEquals("previous", Files.readString(tmp.resolve("out/stats.json")));
  }
}
