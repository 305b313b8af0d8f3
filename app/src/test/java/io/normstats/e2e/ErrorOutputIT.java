package io.normstats.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.normstats.testing.Launcher;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a user sees on the terminal when a job fails on bad data, through {@code jobs/normstats} with
 * its logging configuration: the job's one error line last, and no stack trace anywhere on stderr,
 * also when the failure happens inside Spark tasks (which Spark itself would log with traces).
 */
class ErrorOutputIT {
  @TempDir Path tmp;

  private void assertOneClearLine(String expected, int code, String... args) throws Exception {
    Path out = tmp.resolve("out");
    String[] all = java.util.stream.Stream.concat(java.util.Arrays.stream(args),
        java.util.stream.Stream.of("--output", out.toString())).toArray(String[]::new);
    Launcher.Result r = Launcher.launch(tmp, Map.of(), 5, all);
    assertEquals(code, r.exitCode(), r.stderr());
    List<String> lines = r.stderr().replace('\r', '\n').lines().filter(l -> !l.isBlank())
        .filter(l -> !l.startsWith("[Stage")).toList();
    String last = lines.get(lines.size() - 1);
    assertTrue(last.startsWith("normstats " + args[0] + ": error: ") && last.contains(expected),
        "last line: " + last);
    assertFalse(r.stderr().contains("\tat ") || r.stderr().contains("Exception"),
        "no stack trace: " + r.stderr());
    assertFalse(Files.exists(out));
  }

  @Test
  void taskSideFailuresEndWithOneLineAndNoTrace() throws Exception {
    Path ragged = Files.writeString(tmp.resolve("ragged.json"),
        "{\"v\": [1.0, 2.0]}\n{\"v\": [3.0]}\n");
    assertOneClearLine("column 'v' has vectors of different lengths", 1, "stats", "--input",
        ragged.toString());
    Path rows = Files.writeString(tmp.resolve("rows.csv"), "a,b\n1,2\n3\n");
    assertOneClearLine("malformed record", 1, "fit", "--input", rows.toString());
    Path nan = Files.writeString(tmp.resolve("nan.json"), "{\"v\": [1.0, 2.0]}\n{\"v\": [NaN, 1.0]}\n");
    assertOneClearLine("column 'v' has a NaN or infinite value", 1, "normalize", "--input",
        nan.toString(), "--rms-norm");
  }

  /**
   * A mistyped --input is reported before Spark starts: with {@code local[x]}, an embedded master
   * Spark cannot parse, the job's error is the input's, not Spark's failure to start.
   */
  @Test
  void aMissingInputIsReportedBeforeSparkStarts() throws Exception {
    String missing = tmp.resolve("no-such-images.idx.gz").toString();
    String model = Launcher.HOME.resolve("sample-data/fashion-mnist-cnn/model.onnx").toString();
    List<List<String>> jobs = List.of(List.of("stats"), List.of("compare"), List.of("report"),
        List.of("fit"), List.of("normalize", "--rms-norm"),
        List.of("recalibrate", "--model", model));
    for (List<String> job : jobs) {
      List<String> args = new ArrayList<>(job);
      args.addAll(List.of("--master", "local[x]", "--input", missing));
      assertOneClearLine("input " + missing + " does not exist", 2, args.toArray(String[]::new));
    }
  }

  /**
   * An output that may not be written is reported before Spark starts too (same {@code local[x]}
   * master), and what is there is left as it was.
   */
  @Test
  void anOutputThatMayNotBeWrittenIsReportedBeforeSparkStarts() throws Exception {
    String images = Launcher.HOME.resolve("sample-data/fashion-mnist/t10k-images-idx3-ubyte.gz")
        .toString();
    Path theirs = Files.createDirectories(tmp.resolve("theirs"));
    Path file = Files.writeString(theirs.resolve("notes.txt"), "not normstats'");
    String[][] cases = {
        {"output " + theirs + " already exists (pass --overwrite to replace it)"},
        {"refusing to overwrite " + theirs + ": it is not empty and not a normstats output",
            "--overwrite"}};
    for (String[] c : cases) {
      List<String> args = new ArrayList<>(List.of("stats", "--master", "local[x]", "--input",
          images, "--output", theirs.toString()));
      args.addAll(List.of(c).subList(1, c.length));
      Launcher.Result r = Launcher.launch(tmp, Map.of(), 5, args.toArray(String[]::new));
      assertEquals(2, r.exitCode(), r.stderr());
      List<String> lines = r.stderr().lines().filter(l -> !l.isBlank()).toList();
      assertEquals("normstats stats: error: " + c[0], lines.get(lines.size() - 1), r.stderr());
      assertEquals("not normstats'", Files.readString(file));
    }
  }
}
