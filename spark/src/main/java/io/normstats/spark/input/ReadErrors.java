package io.normstats.spark.input;

import io.normstats.InputException;
import java.util.Map;
import org.apache.spark.SparkThrowable;

/**
 * Turns Spark's failures to read an input into one-line data errors naming the file: a file that
 * is not Parquet or is truncated, a malformed CSV or JSON record, a corrupt gzip stream, a column
 * name that occurs twice. Spark reports these as exceptions with an error condition
 * ({@code FAILED_READ_FILE.*}, {@code MALFORMED_RECORD_IN_PARSING.*}, {@code COLUMN_ALREADY_EXISTS})
 * wrapped in task and job failures; the jobs print the result of {@link #describe} instead of a
 * stack trace.
 */
public final class ReadErrors {
  private static final java.util.regex.Pattern CHECKSUM =
      java.util.regex.Pattern.compile("Checksum error: (\\S+) at");

  private ReadErrors() {}

  /**
   * The data error that {@code failure} is, or null if it is not a failure to read the input.
   *
   * @param failure an exception from a Spark job or query, with its causes
   * @return an {@link InputException} (exit code 1) whose message names the file (or, for a
   *     duplicate column, the column) and the reason, on one line
   */
  public static InputException describe(Throwable failure) {
    String file = null;
    String duplicate = null;
    String malformed = null;
    Throwable root = failure;
    for (Throwable c = failure; c != null; c = c.getCause() == c ? null : c.getCause()) {
      root = c;
      if (c instanceof SparkThrowable st && st.getCondition() != null) {
        String condition = st.getCondition();
        Map<String, String> params = st.getMessageParameters();
        if (condition.startsWith("FAILED_READ_FILE") && file == null) {
          file = params.get("path");
        } else if (condition.equals("COLUMN_ALREADY_EXISTS")) {
          duplicate = params.get("columnName");
        } else if (condition.startsWith("MALFORMED_RECORD_IN_PARSING") && malformed == null) {
          malformed = params.get("badRecord");
        }
      }
    }
    if (file == null) {
      for (Throwable c = failure; c != null; c = c.getCause() == c ? null : c.getCause()) {
        java.util.regex.Matcher m = CHECKSUM.matcher(String.valueOf(c.getMessage()));
        if (c instanceof org.apache.hadoop.fs.ChecksumException && m.find()) {
          return InputException.data("cannot read " + displayPath(m.group(1)) + ": it does not "
              + "match its checksum (.crc) file: corrupt, truncated or changed since written", failure);
        }
      }
    }
    if (duplicate != null) {
      return InputException.data("the input has two columns named " + duplicate
          + " (column names are compared ignoring case)", failure);
    }
    if (file == null) {
      return null;
    }
    String path = displayPath(file);
    if (malformed != null) {
      return InputException.data("cannot read " + path + ": malformed record " + malformed
          + " (a row with more or fewer fields than the header, or a value of another type)",
          failure);
    }
    String reason = oneLine(root.getMessage());
    String bare = file.replaceFirst("^file:/*", "");
    if (reason.startsWith("file:") && reason.contains(bare)) {
      // "file:/x.parquet is not a Parquet file (length is too low: 0)"
      String what = reason.substring(reason.indexOf(bare) + bare.length());
      return InputException.data(path + what
          + (what.contains("not a Parquet file") ? " (truncated, or not Parquet)" : ""), failure);
    }
    return InputException.data("cannot read " + path + ": " + reason, failure);
  }

  /** A local file ({@code file:/x}) as a plain path ({@code /x}), anything else as given. */
  public static String displayPath(String file) {
    try {
      java.net.URI uri = new java.net.URI(file);
      return "file".equals(uri.getScheme()) ? uri.getPath() : file;
    } catch (java.net.URISyntaxException e) {
      return file;
    }
  }

  /** The first line of a Spark message, without its {@code [CONDITION]} and SQLSTATE. */
  static String oneLine(String message) {
    if (message == null || message.isBlank()) {
      return "unreadable";
    }
    String line = message.strip().lines().findFirst().orElse("");
    line = line.replaceFirst("^\\[[A-Z_.]+\\]\\s*", "").replaceFirst("\\s*SQLSTATE: \\w+$", "");
    return line.strip();
  }
}
