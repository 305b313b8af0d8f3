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
import org.apache.spark.sql.functions;

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

  /** The statistics, and the input order counted in the same pass. */
  public record Ordered(Result result, InputOrder order) {}

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
      total = new MomentAccumulator(selection.size(), selection.valuesPerFeature());
    } else {
      int depth = rows.getNumPartitions() > 64 ? 3 : 2;
      total = rows.mapPartitions(it -> accumulate(it, selection))
          .treeReduce(ExactStatistics::merge, depth);
    }
    return result(total, selection);
  }

  /**
   * Like {@link #compute}, over {@code input}'s rows, also counting the rows of every split of the
   * input in the same pass, which gives the input order.
   *
   * @throws InputException (data) if a vector's length differs from the selection's
   */
  public static Ordered computeOrdered(OrderedInput input, FeatureSelection selection) {
    List<org.apache.spark.sql.Column> columns = new ArrayList<>(List.of(selection.projection()));
    columns.add(functions.col(InputOrder.FILE_COLUMN));
    columns.add(functions.col(InputOrder.START_COLUMN));
    JavaRDD<Row> rows = input.withOrigin().select(columns.toArray(new org.apache.spark.sql.Column[0]))
        .javaRDD();
    int fileIndex = columns.size() - 2;
    CountedPartial total;
    if (rows.getNumPartitions() == 0) {
      total = new CountedPartial(new MomentAccumulator(selection.size(),
          selection.valuesPerFeature()), new InputOrder.Counter());
    } else {
      int depth = rows.getNumPartitions() > 64 ? 3 : 2;
      total = rows.mapPartitions(it -> {
        InputOrder.Counter counter = new InputOrder.Counter();
        Iterator<Row> counting = new Iterator<>() {
          @Override
          public boolean hasNext() {
            return it.hasNext();
          }

          @Override
          public Row next() {
            Row row = it.next();
            counter.add(row.getString(fileIndex), row.getLong(fileIndex + 1));
            return row;
          }
        };
        MomentAccumulator acc = accumulate(counting, selection).next();
        return Collections.singletonList(new CountedPartial(acc, counter)).iterator();
      }).treeReduce((a, b) -> {
        a.moments().merge(b.moments());
        a.counter().merge(b.counter());
        return a;
      }, depth);
    }
    return new Ordered(result(total.moments(), selection), InputOrder.of(total.counter().counts()));
  }

  private record CountedPartial(MomentAccumulator moments, InputOrder.Counter counter)
      implements java.io.Serializable {}

  private static Result result(MomentAccumulator total, FeatureSelection selection) {
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

  static Iterator<MomentAccumulator> accumulate(Iterator<Row> rows, FeatureSelection sel) {
    int d = sel.size();
    int length = sel.vectorLength();
    int perFeature = sel.valuesPerFeature();
    MomentAccumulator acc = new MomentAccumulator(d, perFeature);
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
          checkLength(column, length, v.size());
          if (v instanceof DenseVector dense) {
            if (perFeature == 1) {
              acc.addDense(dense.values());
            } else {
              acc.addDenseChannels(dense.values());
            }
          } else {
            SparseVector sparse = (SparseVector) v;
            if (perFeature == 1) {
              acc.addSparse(sparse.indices(), sparse.values());
            } else {
              acc.addSparseChannels(sparse.indices(), sparse.values());
            }
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
          checkLength(column, length, values.size());
          acc.beginRow();
          for (int k = 0; k < length; k++) {
            Object x = values.get(k);
            if (x == null) {
              acc.addNull(k / perFeature);
            } else {
              acc.add(k / perFeature, (Double) x);
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
