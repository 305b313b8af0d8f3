package io.normstats.spark;

import io.normstats.InputException;
import io.normstats.exact.FeatureMoments;
import io.normstats.exact.MomentAccumulator;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.ml.linalg.DenseVector;
import org.apache.spark.ml.linalg.SparseVector;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/**
 * The exact dataset-level statistics of every feature of a DataFrame, in one pass.
 *
 * <p>Each task folds its partition into a {@link MomentAccumulator} (exact sums, no rounding); the
 * accumulators are merged exactly with {@code treeReduce}, and the driver rounds each statistic once.
 * The result is therefore bit-for-bit the same for any partitioning, partition count, row order,
 * number of executors, and task retries (a retried task recomputes its partition's accumulator from
 * scratch; Spark accumulators, which can count a retried task twice, are not used).
 *
 * <p>Per-task state is about 1.7 KB per feature (see {@link MomentAccumulator}).
 */
public final class ExactStatistics {
  private ExactStatistics() {}

  /** The statistics of one feature, with its name and position. */
  public record Feature(String name, int index, FeatureMoments moments) {}

  /** The statistics of every feature, and the number of rows read. */
  public record Result(long rows, List<Feature> features) {}

  /**
   * Computes the statistics of {@code selection}'s features over all rows of {@code df}. NaN,
   * infinite and null values are left out of the statistics and counted (see
   * {@link FeatureMoments#nanCount()}, {@link FeatureMoments#nullCount()}).
   *
   * @throws InputException (data) if a vector's length differs from the selection's
   */
  public static Result compute(Dataset<Row> df, FeatureSelection selection) {
    JavaRDD<Row> rows = df.select(selection.projection()).javaRDD();
    MomentAccumulator total;
    if (rows.getNumPartitions() == 0) {
      total = new MomentAccumulator(selection.size());
    } else {
      int depth = rows.getNumPartitions() > 64 ? 3 : 2;
      total = rows.mapPartitions(it -> accumulate(it, selection))
          .treeReduce(ExactStatistics::merge, depth);
    }
    List<Feature> features = new ArrayList<>(selection.size());
    for (int j = 0; j < selection.size(); j++) {
      features.add(new Feature(selection.featureName(j), j, total.moments(j)));
    }
    return new Result(total.rows(), List.copyOf(features));
  }

  private static MomentAccumulator merge(MomentAccumulator a, MomentAccumulator b) {
    a.merge(b);
    return a;
  }

  private static Iterator<MomentAccumulator> accumulate(Iterator<Row> rows, FeatureSelection sel) {
    int d = sel.size();
    MomentAccumulator acc = new MomentAccumulator(d);
    String column = sel.columns().get(0);
    switch (sel.kind()) {
      case SCALARS -> {
        while (rows.hasNext()) {
          Row row = rows.next();
          acc.beginRow();
          for (int j = 0; j < d; j++) {
            if (row.isNullAt(j)) {
              acc.addNull(j);
            } else {
              acc.add(j, row.getDouble(j));
            }
          }
        }
      }
      case VECTOR -> {
        while (rows.hasNext()) {
          Vector v = (Vector) rows.next().get(0);
          if (v == null) {
            acc.addMissingRow();
            continue;
          }
          checkLength(column, d, v.size());
          if (v instanceof DenseVector dense) {
            acc.addDense(dense.values());
          } else {
            SparseVector sparse = (SparseVector) v;
            acc.addSparse(sparse.indices(), sparse.values());
          }
        }
      }
      case ARRAY -> {
        while (rows.hasNext()) {
          Row row = rows.next();
          if (row.isNullAt(0)) {
            acc.addMissingRow();
            continue;
          }
          List<Object> values = row.getList(0);
          checkLength(column, d, values.size());
          acc.beginRow();
          for (int j = 0; j < d; j++) {
            Object x = values.get(j);
            if (x == null) {
              acc.addNull(j);
            } else {
              acc.add(j, (Double) x);
            }
          }
        }
      }
    }
    return Collections.singletonList(acc).iterator();
  }

  private static void checkLength(String column, int expected, int actual) {
    if (actual != expected) {
      throw InputException.data("column '" + column + "' has vectors of different lengths: "
          + expected + " (the first one) and " + actual);
    }
  }
}
