package io.normstats.jobs;

import io.normstats.output.OutputDirectory;
import io.normstats.spark.ExactStatistics;
import io.normstats.spark.input.Inputs;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.SparkConf;
import org.apache.spark.deploy.SparkHadoopUtil;
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
   * {@code spark.master}, else embedded {@code local[*]}. A job owns its session, so it lets the
   * stats engine plan wide columnar scans in it ({@link ExactStatistics#PLAN_WIDE_SCANS}).
   */
  public SparkSession session(String job) {
    return SparkSession.builder().appName("normstats " + job).master(masterUrl())
        .config(ExactStatistics.PLAN_WIDE_SCANS, "true").getOrCreate();
  }

  /**
   * As {@link #session(String)} for a job that reads {@code in}'s input and writes its output,
   * which in an embedded run (a {@code local} master) are first checked with the Hadoop
   * configuration the session would have (built by Spark's {@code SparkHadoopUtil}, as SparkContext
   * builds its own, with the {@code spark.hadoop.*} settings): a missing input or an existing
   * output without {@code --overwrite} is reported 3 to 4 s after the command instead of after
   * Spark's start-up (7.7 s here). The job's own checks (the read, {@code OutputDirectory.prepare})
   * still follow; on a cluster only they run, with the cluster's file systems.
   *
   * @throws io.normstats.InputException (usage) if the input does not exist or cannot be opened, or
   *     the output may not be written ({@code OutputDirectory.check})
   */
  public SparkSession session(String job, InputOptions in) {
    if (embedded()) {
      Configuration conf = SparkHadoopUtil.get().newConfiguration(new SparkConf());
      Inputs.checkPaths(conf, in.input);
      OutputDirectory.check(conf, in.output, in.overwrite, in.input);
    }
    return session(job);
  }

  /** The job's master: {@code --master}, else {@code spark.master}, else {@code local[*]}. */
  String masterUrl() {
    return master != null ? master : new SparkConf().get("spark.master", "local[*]");
  }

  /** Whether the job runs embedded: its master is local. */
  boolean embedded() {
    return masterUrl().startsWith("local");
  }
}
