package io.normstats.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.normstats.jobs.Main;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Jobs run in-process on local[2], as the tests of the jobs run them. */
public final class Jobs {
  private Jobs() {}

  /** A job run: its exit code and what it printed on stderr. */
  public record Run(int exitCode, String stderr) {}

  /** Runs {@code job} with {@code args} in this JVM on local[2]. */
  public static Run run(String job, String... args) {
    StringWriter err = new StringWriter();
    List<String> all = new ArrayList<>(List.of(job, "--master", "local[2]"));
    all.addAll(Arrays.asList(args));
    int code = Main.run(new PrintWriter(err, true), all.toArray(new String[0]));
    return new Run(code, err.toString());
  }

  /** Runs {@code job} and fails the test unless it exits with 0. */
  public static void ok(String job, String... args) {
    Run r = run(job, args);
    assertEquals(0, r.exitCode(), r.stderr());
  }
}
