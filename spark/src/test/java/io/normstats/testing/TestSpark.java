package io.normstats.testing;

import org.apache.spark.sql.SparkSession;

/** The Spark tests' shared session: one local[2] session per test class. */
public final class TestSpark {
  private TestSpark() {}

  /** The local[2] session of test class {@code name} (UI off, 4 shuffle partitions). */
  public static SparkSession session(String name) {
    return SparkSession.builder().master("local[2]").appName(name)
        .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "4")
        .getOrCreate();
  }
}
