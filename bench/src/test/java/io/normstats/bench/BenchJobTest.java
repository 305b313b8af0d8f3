package io.normstats.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.normstats.testing.TestSpark;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The short smoke run of the benchmark that CI runs: every section runs and reports its ratios. */
class BenchJobTest {
  private static org.apache.spark.sql.SparkSession spark;

  @BeforeAll
  static void start() {
    spark = TestSpark.session("BenchJobTest");
  }

  @org.junit.jupiter.api.AfterAll
  static void stop() {
    spark.stop();
  }

  @Test
  void smokeRunReportsEveryRatio() {
    PrintStream stdout = System.out;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    StringWriter err = new StringWriter();
    int code;
    System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
    try {
      code = BenchJob.run(new PrintWriter(err, true), "--smoke");
    } finally {
      System.setOut(stdout);
    }
    String out = captured.toString(StandardCharsets.UTF_8);
    assertEquals(0, code, err + out);
    for (String ratio : List.of("StandardScaler.fit / BatchNorm.fit",
        "BatchNorm.fit / naive double sum", "SQL avg+var_pop / stats job",
        "VectorAssembler+Summarizer / stats job", "8x rows / 1x rows", "1024 / 64 features",
        "200 / 8 columns, same values", "report / stats, 200 columns",
        "stats job / read floor, 8 columns", "stats job / read floor, 200 columns",
        "compare / stats", "exact / avg+var_pop, 1 groups", "exact / avg+var_pop, 1,000 groups",
        "recalibration passes / one full-graph pass")) {
      assertTrue(Pattern.compile(Pattern.quote(ratio) + ".* \\d+\\.\\d\\d  \\[").matcher(out).find(),
          ratio + " missing from:\n" + out);
    }
    // the accuracy section: four rows of relative errors
    String error = "\\d\\.\\d\\de[+-]\\d\\d";
    assertEquals(4, Pattern.compile("partitions [18]  exact var_pop \\S+  SQL var_pop " + error
        + "  Summarizer " + error).matcher(out).results().count(), out);
    assertTrue(out.contains("cold: skipped (--smoke)"), out);
    // the images section: images per second of both formats, and torch's when it is installed
    assertTrue(Pattern.compile("stats job, 40 png files +\\d+ images/s").matcher(out).find(), out);
    assertTrue(Pattern.compile("stats job, 40 jpeg files +\\d+ images/s").matcher(out).find(), out);
    assertTrue(out.contains("images: torch comparison skipped (")
        || out.contains("torch loop / stats job, png files"), out);
    // the torch ratios when the python3 on the PATH has torch, else the reason they are not
    assertTrue(out.contains("torch comparison skipped (")
        || out.contains("recalibrate job, --approximations none / torch update_bn"), out);
  }

  @Test
  void unknownSectionIsAUsageError() {
    StringWriter err = new StringWriter();
    assertEquals(2, BenchJob.run(new PrintWriter(err, true), "--smoke", "--sections", "fit,nope"));
    assertTrue(err.toString().contains("unknown section 'nope'"), err.toString());
  }
}
