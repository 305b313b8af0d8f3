package io.normstats.jobs;

import static io.normstats.testing.ExactOracle.assertMoments;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.normstats.testing.StatsJson;
import io.normstats.testing.Jobs;
import io.normstats.testing.TestSpark;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * 100 seeded malformed CSV files through the stats job. Each file is a table of known numbers
 * written with random faults: some harmless (spaces, CRLF, quotes, exponents, blank lines, no final
 * newline), some that make the file bad (a typo in a number, a missing or extra field, a duplicate
 * header name, an unclosed quote, no rows, no bytes) and some invalid values (NaN, infinities, empty
 * cells) that are an error under {@code --handle-invalid error} and counted under {@code --handle-invalid skip}.
 * Every run must end either in the exact statistics of the numbers written (BigDecimal oracle) or in
 * one clear error line, and never leave anything at or beside the output path.
 */
class MalformedCsvTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int FILES = 100;
  private static SparkSession spark;
  @TempDir static Path tmp;

  @BeforeAll
  static void start() {
    spark = TestSpark.session("MalformedCsvTest");
  }

  @AfterAll
  static void stop() {
    spark.stop();
  }

  /** The faults a file may have. */
  enum Fault {
    // harmless: the statistics are those of the numbers written
    SPACES, CRLF, QUOTES, EXPONENTS, BLANK_LINES, NO_FINAL_NEWLINE,
    // invalid values: an error, or left out and counted under --handle-invalid skip
    NAN, INFINITY, EMPTY_CELL,
    // bad files: an error (UNCLOSED_QUOTE: an error, or the exact result if read leniently)
    TYPO, MISSING_FIELD, EXTRA_FIELD, DUPLICATE_HEADER, UNCLOSED_QUOTE, HEADER_ONLY, NO_BYTES;

    boolean harmless() {
      return ordinal() <= NO_FINAL_NEWLINE.ordinal();
    }

    boolean invalidValue() {
      return this == NAN || this == INFINITY || this == EMPTY_CELL;
    }
  }

  /** A generated file: what was written, and what the stats job must report. */
  private record Generated(Path file, String[] names, List<List<Double>> finite, long[] nan,
      long[] nulls, Set<Fault> faults) {}

  private static String number(double v, boolean exponent) {
    if (v == Math.rint(v) && Math.abs(v) < 1e15 && !exponent) {
      return Long.toString((long) v);
    }
    return exponent ? String.format(Locale.ROOT, "%.16e", v) : Double.toString(v);
  }

  private static double value(int column, SplittableRandom r) {
    return switch (column % 5) {
      case 0 -> r.nextInt(-1000, 1000);                       // integers
      case 1 -> 1e9 + r.nextDouble() * 10;                     // an offset that costs digits
      case 2 -> r.nextDouble(-1, 1) * Math.pow(10, r.nextInt(-300, 300)); // any magnitude
      case 3 -> Math.round(r.nextDouble() * 1e6) / 1e3;        // decimals
      default -> r.nextGaussian();
    };
  }

  /** Writes file {@code i}: random columns and rows of known numbers, then random faults. */
  private static Generated generate(int i, SplittableRandom r) throws IOException {
    int columns = r.nextInt(1, 5);
    int rows = r.nextInt(2, 40);
    String[] names = new String[columns];
    for (int c = 0; c < columns; c++) {
      names[c] = "f" + c;
    }
    Set<Fault> faults = EnumSet.noneOf(Fault.class);
    int count = r.nextInt(0, 4);
    Fault[] all = Fault.values();
    for (int k = 0; k < count; k++) {
      faults.add(all[r.nextInt(all.length)]);
    }
    String[][] cells = new String[rows][columns];
    double[][] values = new double[rows][columns];
    for (int row = 0; row < rows; row++) {
      for (int c = 0; c < columns; c++) {
        values[row][c] = value(c + i, r);
        cells[row][c] = number(values[row][c], faults.contains(Fault.EXPONENTS) && r.nextBoolean());
      }
    }
    // Invalid values and typos go in rows other than the first, one cell each, so that every
    // column keeps a number and Spark still infers it as numeric (a typo then makes it text).
    long[] nan = new long[columns];
    long[] nulls = new long[columns];
    boolean[][] left = new boolean[rows][columns];
    for (Fault f : List.of(Fault.NAN, Fault.INFINITY, Fault.EMPTY_CELL, Fault.TYPO)) {
      if (faults.contains(f)) {
        int row = r.nextInt(1, rows);
        int c = r.nextInt(columns);
        if (left[row][c]) {
          continue;
        }
        left[row][c] = true;
        switch (f) {
          case NAN -> { cells[row][c] = "NaN"; nan[c]++; }
          case INFINITY -> { cells[row][c] = r.nextBoolean() ? "Infinity" : "-Infinity"; nan[c]++; }
          case EMPTY_CELL -> {
            if (columns == 1) { // an empty line, which CSV readers skip as a blank line
              cells[row][c] = "NaN";
              nan[c]++;
            } else {
              cells[row][c] = "";
              nulls[c]++;
            }
          }
          default -> cells[row][c] = List.of("1.2.3", "abc", "1e", "--4", "0x1G").get(r.nextInt(5));
        }
      }
    }
    List<List<Double>> finite = new ArrayList<>();
    for (int c = 0; c < columns; c++) {
      List<Double> col = new ArrayList<>();
      for (int row = 0; row < rows; row++) {
        if (!left[row][c]) {
          col.add(values[row][c]);
        }
      }
      finite.add(col);
    }

    List<String> lines = new ArrayList<>();
    String[] header = names.clone();
    if (faults.contains(Fault.DUPLICATE_HEADER)) {
      header = java.util.Arrays.copyOf(header, columns + 1);
      header[columns] = names[r.nextInt(columns)].toUpperCase(Locale.ROOT);
    }
    lines.add(String.join(",", header));
    for (int row = 0; row < rows; row++) {
      List<String> fields = new ArrayList<>();
      for (int c = 0; c < columns; c++) {
        String cell = cells[row][c];
        if (faults.contains(Fault.QUOTES) && r.nextInt(3) == 0) {
          cell = "\"" + cell + "\"";
        }
        if (faults.contains(Fault.SPACES) && r.nextInt(3) == 0) {
          cell = " ".repeat(r.nextInt(1, 3)) + cell + " ".repeat(r.nextInt(0, 3));
        }
        fields.add(cell);
      }
      if (faults.contains(Fault.DUPLICATE_HEADER)) {
        fields.add(number(value(0, r), false));
      }
      lines.add(String.join(",", fields));
      if (faults.contains(Fault.BLANK_LINES) && r.nextInt(4) == 0) {
        lines.add("");
      }
    }
    List<Integer> records = new ArrayList<>(); // the lines with a row (not the header, not blank)
    for (int k = 1; k < lines.size(); k++) {
      if (!lines.get(k).isEmpty()) {
        records.add(k);
      }
    }
    int pick = r.nextInt(records.size());
    int broken = records.get(pick);
    if (faults.contains(Fault.MISSING_FIELD)) {
      String line = lines.get(broken);
      lines.set(broken, line.contains(",") ? line.substring(0, line.lastIndexOf(',')) : "");
      if (!line.contains(",")) {
        lines.set(broken, line + ",7,8"); // one column: a missing field cannot be, add two
      }
    }
    if (faults.contains(Fault.EXTRA_FIELD)) { // another line: both on one would cancel out
      int other = records.get((pick + 1) % records.size());
      lines.set(other, lines.get(other) + ",42");
    }
    if (faults.contains(Fault.UNCLOSED_QUOTE)) {
      lines.set(broken, "\"" + lines.get(broken));
    }
    if (faults.contains(Fault.HEADER_ONLY)) {
      lines = lines.subList(0, 1);
    }
    String eol = faults.contains(Fault.CRLF) ? "\r\n" : "\n";
    String text = String.join(eol, lines) + (faults.contains(Fault.NO_FINAL_NEWLINE) ? "" : eol);
    if (faults.contains(Fault.NO_BYTES)) {
      text = "";
    }
    Path file = Files.writeString(tmp.resolve(String.format(Locale.ROOT, "fuzz-%03d.csv", i)), text);
    return new Generated(file, names, finite, nan, nulls, faults);
  }

  @Test
  void everyMalformedFileGivesTheExactResultOrOneClearError() throws IOException {
    SplittableRandom r = new SplittableRandom(20261121);
    int succeeded = 0;
    int failed = 0;
    for (int i = 0; i < FILES; i++) {
      Generated g = generate(i, r);
      boolean skip = r.nextInt(3) == 0;
      Path out = tmp.resolve(String.format(Locale.ROOT, "out-%03d", i));
      List<String> args = new ArrayList<>(List.of("--input", g.file().toString(), "--output",
          out.toString()));
      if (skip) {
        args.addAll(List.of("--handle-invalid", "skip"));
      }
      Jobs.Run run = Jobs.run("stats", args.toArray(new String[0]));
      String what = g.file().getFileName() + " " + g.faults() + (skip ? " --handle-invalid skip" : "")
          + ": " + run.stderr().strip();
      boolean bad = g.faults().stream()
          .anyMatch(f -> !f.harmless() && !f.invalidValue() && f != Fault.UNCLOSED_QUOTE);
      boolean invalid = g.faults().stream().anyMatch(Fault::invalidValue);
      // A lone quote at the start of a line is read leniently by Spark's CSV parser when the line
      // still splits into the right fields ("5 in a one-column file is 5): then the statistics must
      // be exact; otherwise it is an error like the others.
      boolean mustFail = bad || (invalid && !skip);
      boolean lenient = g.faults().contains(Fault.UNCLOSED_QUOTE) && run.exitCode() == 0;
      if (mustFail || (g.faults().contains(Fault.UNCLOSED_QUOTE) && !lenient)) {
        failed++;
        assertClearError(run, out, g, what);
      } else {
        succeeded++;
        assertEquals(0, run.exitCode(), what);
        assertExact(out, g, what);
      }
      assertNothingBeside(out, what);
    }
    // the seed gives a mix of both outcomes
    assertTrue(succeeded >= 20 && failed >= 20, succeeded + " succeeded, " + failed + " failed");
  }

  private static void assertClearError(Jobs.Run run, Path out, Generated g, String what) {
    String err = run.stderr().strip();
    assertTrue(run.exitCode() == 1 || run.exitCode() == 2, what);
    assertEquals(1, err.lines().count(), "one line: " + what);
    assertTrue(err.startsWith("normstats stats: error: "), what);
    assertFalse(err.contains("Exception") || err.contains("\tat "), what);
    boolean names = err.contains(g.file().toString()) || err.contains("feature '")
        || err.contains("column '");
    assertTrue(names, "the error names the file or the column: " + what);
    assertFalse(Files.exists(out), "nothing at the output: " + what);
  }

  private static void assertExact(Path out, Generated g, String what) throws IOException {
    JsonNode stats = JSON.readTree(out.resolve("stats.json").toFile());
    JsonNode features = stats.get("features");
    assertEquals(g.names().length, features.size(), what);
    for (int c = 0; c < g.names().length; c++) {
      JsonNode f = features.get(c);
      assertEquals(g.names()[c], f.get("name").asText(), what);
      double[] values = g.finite().get(c).stream().mapToDouble(Double::doubleValue).toArray();
      assertMoments(values, StatsJson.moments(f), what + " " + g.names()[c]);
      assertEquals(g.nan()[c], f.get("nan_count").asLong(), what);
      assertEquals(g.nulls()[c], f.get("null_count").asLong(), what);
    }
  }

  private static void assertNothingBeside(Path out, String what) throws IOException {
    try (Stream<Path> files = Files.list(out.getParent())) {
      String staging = files.map(p -> p.getFileName().toString())
          .filter(n -> n.contains(".normstats-")).collect(Collectors.joining(", "));
      assertTrue(staging.isEmpty(), "left beside the output: " + staging + " after " + what);
    }
  }
}
