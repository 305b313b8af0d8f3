package io.normstats.jobs;

/**
 * A class a tampered model directory names as a stage: loading it would run its static initializer,
 * which records that it ran. SavedModel must refuse the model without ever loading it.
 */
public final class TrapStage {
  /** The system property set when this class is initialized. */
  public static final String LOADED = "normstats.test.trapStageLoaded";

  static {
    System.setProperty(LOADED, "true");
  }

  private TrapStage() {}

  /** What Spark's reflection-based loading would call. */
  public static Object load(String path) {
    return null;
  }
}
