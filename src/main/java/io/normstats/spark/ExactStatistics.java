package io.normstats.spark;

import io.normstats.InputException;
import io.normstats.exact.FeatureMoments;
import io.normstats.exact.MomentAccumulator;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.vectorized.ColumnarBatch;
import org.apache.spark.unsafe.types.UTF8String;

/**
 * The exact dataset-level statistics of every feature of a DataFrame, in one pass.
 *
 * <p>Each task folds its partition into a {@link MomentAccumulator} (exact sums, no rounding),
 * reading Spark's internal rows, or the columnar batches of a vectorized scan, without converting
 * them to {@code Row}s or {@code Vector}s (see {@link RowFolding}, {@link ColumnarScan}); the
 * accumulators are merged exactly with {@code treeReduce}, and the driver rounds each statistic once.
 * The result is therefore bit-for-bit the same for any partitioning, partition count, row order,
 * number of executors, and task retries (a retried task recomputes its partition's accumulator from
 * scratch; Spark accumulators, which can count a retried task twice, are not used).
 *
 * <p>Per-task state: 1,720 bytes per feature, 124 bytes per vector element and a row buffer of at
 * most 64 KiB (see {@link MomentAccumulator}); 1,720 bytes per feature travel to the driver.
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
    if (!selection.lengthKnown()) {
      return computeReadingLength(df, selection);
    }
    MomentAccumulator total;
    Optional<ColumnarScan> columnar = selection.kind() == FeatureSelection.Kind.SCALARS
        ? ColumnarScan.of(df.select(selection.columnReferences())) : Optional.empty();
    if (columnar.isPresent()) {
      ColumnarScan scan = columnar.get();
      JavaRDD<ColumnarBatch> batches = scan.batches().toJavaRDD();
      int[] columns = scan.columns();
      DataType[] types = scan.types();
      total = treeMerge(batches.mapPartitions(it -> {
        RowFolding folding = new RowFolding(selection);
        while (it.hasNext()) {
          folding.addBatch(it.next(), columns, types);
        }
        FaultInjection.afterWork("exact pass, columnar");
        return Collections.singletonList(folding.accumulator()).iterator();
      }), selection);
    } else {
      JavaRDD<InternalRow> rows = df.select(selection.projection()).queryExecution().toRdd()
          .toJavaRDD();
      total = treeMerge(rows.mapPartitions(it -> {
        MomentAccumulator partial = new RowFolding(selection).addAll(it);
        FaultInjection.afterWork("exact pass");
        return Collections.singletonList(partial).iterator();
      }), selection);
    }
    return result(total, selection);
  }

  /**
   * {@link #compute} for a vector column whose length is taken from the data: each task sizes its
   * accumulator from its first non-null vector, and the merge checks that all tasks agree.
   */
  private static Result computeReadingLength(Dataset<Row> df, FeatureSelection selection) {
    JavaRDD<InternalRow> rows = df.select(selection.projection()).queryExecution().toRdd()
        .toJavaRDD();
    String column = selection.columns().get(0);
    SizedPartial total = rows.getNumPartitions() == 0 ? new SizedPartial(null, null, 0)
        : rows.mapPartitions(it -> {
          SizedPartial partial = SizedPartial.fold(it, selection);
          FaultInjection.afterWork("exact pass, vector length from the data");
          return Collections.singletonList(partial).iterator();
        }).treeReduce(SizedPartial::merge, rows.getNumPartitions() > 64 ? 3 : 2);
    if (total.moments() == null) {
      throw InputException.data("column '" + column
          + "' has no non-null value to take the vector length from");
    }
    return result(total.moments(), total.selection());
  }

  /**
   * One task's moments with the selection sized by its first non-null vector, or only a count of
   * missing rows when it saw none.
   */
  private record SizedPartial(FeatureSelection selection, MomentAccumulator moments,
      long missingRows) implements java.io.Serializable {

    static SizedPartial fold(Iterator<InternalRow> rows, FeatureSelection unsized) {
      long missing = 0;
      while (rows.hasNext()) {
        InternalRow row = rows.next();
        if (row.isNullAt(0)) {
          missing++;
          continue;
        }
        FeatureSelection sized = unsized.withLength(RowFolding.vectorLength(row, unsized.kind()));
        RowFolding folding = new RowFolding(sized);
        for (long k = 0; k < missing; k++) {
          folding.accumulator().addMissingRow();
        }
        folding.add(row);
        folding.addAll(rows);
        return new SizedPartial(sized, folding.accumulator(), 0);
      }
      return new SizedPartial(null, null, missing);
    }

    SizedPartial merge(SizedPartial other) {
      if (moments == null || other.moments == null) {
        SizedPartial sized = moments == null ? other : this;
        long missing = moments == null ? missingRows : other.missingRows;
        if (sized.moments == null) {
          return new SizedPartial(null, null, missingRows + other.missingRows);
        }
        for (long k = 0; k < missing; k++) {
          sized.moments.addMissingRow();
        }
        return sized;
      }
      if (selection.vectorLength() != other.selection.vectorLength()) {
        throw InputException.data("column '" + selection.columns().get(0)
            + "' has vectors of different lengths: " + selection.vectorLength() + " and "
            + other.selection.vectorLength());
      }
      moments.merge(other.moments);
      return this;
    }
  }

  /** Merges the partitions' accumulators exactly in a tree (an empty RDD gives zero moments). */
  private static MomentAccumulator treeMerge(JavaRDD<MomentAccumulator> partials,
      FeatureSelection selection) {
    if (partials.getNumPartitions() == 0) {
      return new MomentAccumulator(selection.size(), selection.valuesPerFeature());
    }
    int depth = partials.getNumPartitions() > 64 ? 3 : 2;
    return partials.treeReduce(ExactStatistics::merge, depth);
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
    JavaRDD<InternalRow> rows = input.withOrigin()
        .select(columns.toArray(new org.apache.spark.sql.Column[0])).queryExecution().toRdd()
        .toJavaRDD();
    int fileIndex = columns.size() - 2;
    CountedPartial total;
    if (rows.getNumPartitions() == 0) {
      total = new CountedPartial(new MomentAccumulator(selection.size(),
          selection.valuesPerFeature()), new InputOrder.Counter());
    } else {
      int depth = rows.getNumPartitions() > 64 ? 3 : 2;
      total = rows.mapPartitions(it -> {
        InputOrder.Counter counter = new InputOrder.Counter();
        RowFolding folding = new RowFolding(selection);
        UTF8String lastFile = null;
        String file = null;
        while (it.hasNext()) {
          InternalRow row = it.next();
          UTF8String f = row.getUTF8String(fileIndex);
          if (!f.equals(lastFile)) {
            lastFile = f.clone();
            file = f.toString();
          }
          counter.add(file, row.getLong(fileIndex + 1));
          folding.add(row);
        }
        FaultInjection.afterWork("exact pass, ordered");
        return Collections.singletonList(new CountedPartial(folding.accumulator(), counter))
            .iterator();
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


}
