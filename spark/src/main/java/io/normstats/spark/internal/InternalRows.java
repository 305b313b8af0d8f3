package io.normstats.spark.internal;

import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.catalyst.InternalRow;

/**
 * A DataFrame's rows in Spark's internal format, as its executed plan produces them (through
 * {@code queryExecution().toRdd()}): no conversion to external {@code Row}s, which costs more than
 * the exact sums. The rows are reused by the iterator that yields them: copy one to keep it.
 */
public final class InternalRows {
  private InternalRows() {}

  /** The rows of {@code df}, one RDD partition per partition of its executed plan. */
  public static JavaRDD<InternalRow> of(Dataset<?> df) {
    return df.queryExecution().toRdd().toJavaRDD();
  }

  /** The number of partitions of {@code df}'s executed plan, without running it. */
  public static int partitions(Dataset<?> df) {
    return df.queryExecution().toRdd().getNumPartitions();
  }
}
