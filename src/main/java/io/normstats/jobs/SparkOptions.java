package io.normstats.jobs;

import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Option;

/** The Spark options every job takes (a picocli mixin). */
public final class SparkOptions {
  @Option(names = "--master",
      description = "Spark master URL (default: spark.master if set, e.g. by spark-submit; "
          + "else embedded local[*]).")
  String master;

  /**
   * Starts (or joins) the job's SparkSession: {@code --master} if given, else the configured
   * {@code spark.master}, else embedded {@code local[*]}.
   */
  public SparkSession session(String job) {
    SparkConf conf = new SparkConf();
    SparkSession.Builder builder = SparkSession.builder().appName("normstats " + job);
    if (master != null) {
      builder.master(master);
    } else if (!conf.contains("spark.master")) {
      builder.master("local[*]");
    }
    return builder.getOrCreate();
  }
}
