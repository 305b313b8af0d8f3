package io.normstats;

/**
 * A problem with what the user asked for or gave, reported as one line naming the file, column or
 * value, with the process exit code it maps to: {@link #USAGE} (2) for options, paths, columns and
 * types that cannot work; {@link #DATA} (1) for data that is malformed or has invalid values.
 */
public class InputException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** Exit code for usage errors: bad options, missing input, unknown or non-numeric column. */
  public static final int USAGE = 2;
  /** Exit code for bad data: invalid values, vectors of different lengths, malformed files. */
  public static final int DATA = 1;

  private final int exitCode;

  private InputException(String message, int exitCode, Throwable cause) {
    super(message, cause);
    this.exitCode = exitCode;
  }

  /** A usage error (exit code 2). */
  public static InputException usage(String message) {
    return new InputException(message, USAGE, null);
  }

  /** A data error (exit code 1). */
  public static InputException data(String message) {
    return new InputException(message, DATA, null);
  }

  /** A data error (exit code 1) caused by {@code cause}, e.g. an I/O failure while reading. */
  public static InputException data(String message, Throwable cause) {
    return new InputException(message, DATA, cause);
  }

  /** The process exit code this error maps to. */
  public int exitCode() {
    return exitCode;
  }

  /**
   * The InputException in {@code t}'s cause chain (Spark wraps executor exceptions), or null.
   */
  public static InputException find(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof InputException ie) {
        return ie;
      }
      if (c.getCause() == c) {
        break;
      }
    }
    return null;
  }
}
