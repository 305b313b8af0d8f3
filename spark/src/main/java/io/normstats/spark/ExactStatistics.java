package io.normstats.spark;

import com.esotericsoftware.kryo.DefaultSerializer;
import com.esotericsoftware.kryo.serializers.JavaSerializer;
import io.normstats.InputException;
import io.normstats.exact.FeatureMoments;
import io.normstats.exact.MomentAccumulator;
import io.normstats.exact.ScalarMoments;
import io.normstats.result.DatasetStatistics;
import io.normstats.result.FeatureStatistics;
import io.normstats.spark.internal.ColumnarScan;
import io.normstats.spark.internal.InternalRows;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.vectorized.ColumnVector;
import org.apache.spark.sql.vectorized.ColumnarBatch;
import org.apache.spark.storage.StorageLevel;
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
 * <p>Per-task state: 1,720 bytes per feature, 140 bytes per vector element, a row buffer of 64 KiB
 * (16 rows when rows are wider than 512 values) and, for columnar batches, a tile of 128 KiB (see
 * {@link MomentAccumulator}); 1,720 bytes per feature travel to the driver.
 */
public final class ExactStatistics {
  /**
   * A session setting ({@code true} or {@code false}; default false) that lets normstats read
   * selections of more than {@code spark.sql.codegen.maxFields} (100) columns of a Parquet or ORC
   * file as columnar batches: it raises that limit on the session while it plans the scan, and
   * restores it. Set it only on a session in which nothing else plans queries meanwhile, as the
   * normstats jobs do on theirs; without it a wider selection is read as rows (the same bits,
   * slower) and the session is never changed.
   */
  public static final String PLAN_WIDE_SCANS = "spark.normstats.planWideScans";

  private ExactStatistics() {}

  /**
   * The batches of {@code selected} (plain columns), if its plan is a columnar scan; selections
   * wider than {@code spark.sql.codegen.maxFields} only where the session has
   * {@link #PLAN_WIDE_SCANS}.
   */
  static Optional<ColumnarScan> columnarScan(Dataset<Row> selected) {
    return ColumnarScan.of(selected, Boolean.parseBoolean(
        selected.sparkSession().conf().get(PLAN_WIDE_SCANS, "false")));
  }

  /**
   * The batches of the scalar features of {@code selection} followed by the file and split columns
   * of {@code input}'s origin ({@link InputOrder#FILE_COLUMN}, {@link InputOrder#START_COLUMN}), if
   * the input is a columnar file scan; empty for vector or array features and other inputs.
   */
  static Optional<ColumnarScan> columnarWithOrigin(OrderedInput input,
      FeatureSelection selection) {
    if (selection.kind() != FeatureSelection.Kind.SCALARS) {
      return Optional.empty();
    }
    return columnarScan(input.selectWithOrigin(selection.columnReferences()));
  }

  /** The statistics, and the input order counted in the same pass. */
  public record Ordered(DatasetStatistics result, InputOrder order) {}

  /**
   * Computes the statistics of {@code selection}'s features over all rows of {@code df}. NaN,
   * infinite and null values are left out of the statistics and counted (see
   * {@link FeatureMoments#nanCount()}, {@link FeatureMoments#nullCount()}).
   *
   * @throws InputException (data) if a vector's length differs from the selection's
   */
  public static DatasetStatistics compute(Dataset<Row> df, FeatureSelection selection) {
    if (!selection.lengthKnown()) {
      return computeReadingLength(df, selection);
    }
    MomentAccumulator total;
    Optional<ColumnarScan> columnar = selection.kind() == FeatureSelection.Kind.SCALARS
        ? columnarScan(df.select(selection.columnReferences())) : Optional.empty();
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
        TaskHook.afterWork("exact pass, columnar");
        return Collections.singletonList(folding.accumulator()).iterator();
      }), selection);
    } else {
      JavaRDD<InternalRow> rows = InternalRows.of(df.select(selection.projection()));
      total = treeMerge(rows.mapPartitions(it -> {
        MomentAccumulator partial = new RowFolding(selection).addAll(it);
        TaskHook.afterWork("exact pass");
        return Collections.singletonList(partial).iterator();
      }), selection);
    }
    return result(total, selection);
  }

  /**
   * {@link #compute} for a vector column whose length is taken from the data: each task sizes its
   * accumulator from its first non-null vector, and the merge checks that all tasks agree.
   */
  private static DatasetStatistics computeReadingLength(Dataset<Row> df,
      FeatureSelection selection) {
    JavaRDD<InternalRow> rows = InternalRows.of(df.select(selection.projection()));
    String column = selection.columns().get(0);
    SizedPartial total = rows.getNumPartitions() == 0 ? new SizedPartial(null, null, 0)
        : rows.mapPartitions(it -> {
          SizedPartial partial = SizedPartial.fold(it, selection);
          TaskHook.afterWork("exact pass, vector length from the data");
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
  @DefaultSerializer(JavaSerializer.class) // Spark's Kryo cannot serialize records
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
    return pass(input, selection, false).ordered();
  }

  /**
   * {@link #computeOrdered}, also keeping every row packed ({@link KeptRows}: one byte per 8-bit
   * value, four per float, else eight, plus a chunk of slack per partition), persisted in memory
   * and on disk, for a minibatch pass ({@link MinibatchComparison}) that then does not read the
   * input again. Close the result to release them. A Spark task that loses its kept rows
   * recomputes them from the input, which gives the same rows.
   *
   * @throws InputException (data) as {@link #computeOrdered}
   */
  public static OrderedRows computeOrderedKeepingRows(OrderedInput input,
      FeatureSelection selection) {
    return pass(input, selection, true);
  }

  /**
   * An exact pass whose rows were kept for the minibatch pass: the statistics and input order,
   * and the rows of each input partition (package-private). {@link #close} releases the rows.
   */
  public static final class OrderedRows implements AutoCloseable {
    private final Ordered ordered;
    private final JavaRDD<OrderedPartition> partitions;

    private OrderedRows(Ordered ordered, JavaRDD<OrderedPartition> partitions) {
      this.ordered = ordered;
      this.partitions = partitions;
    }

    /** The statistics and the input order. */
    public Ordered ordered() {
      return ordered;
    }

    /** Each input partition's kept rows, in input order (one element per partition). */
    JavaRDD<KeptRows> rows() {
      return partitions.map(OrderedPartition::rows);
    }

    /** Releases the kept rows (the cached partitions). */
    @Override
    public void close() {
      partitions.unpersist(false);
    }
  }

  /**
   * The exact pass over {@code input}: row counts per split, moments, and with {@code keep} each
   * partition's rows (else null); persisted when kept. The partitions' partials are merged from
   * serialized copies (task results) and not read again, so the cached ones stay as computed.
   */
  private static OrderedRows pass(OrderedInput input, FeatureSelection selection, boolean keep) {
    Optional<ColumnarScan> scan = columnarWithOrigin(input, selection);
    JavaRDD<OrderedPartition> partitions = scan.isPresent()
        ? columnarPartitions(scan.get(), selection, keep)
        : rowPartitions(input, selection, keep);
    if (keep) {
      partitions.persist(StorageLevel.MEMORY_AND_DISK());
    }
    try {
      CountedPartial total = treeMergeCounted(partitions.map(OrderedPartition::partial),
          selection);
      return new OrderedRows(new Ordered(result(total.moments(), selection),
          InputOrder.of(total.counter().counts())), partitions);
    } catch (RuntimeException e) {
      partitions.unpersist(false);
      throw e;
    }
  }

  /** The exact pass's result for one input partition, and its rows if kept. */
  @DefaultSerializer(JavaSerializer.class) // Spark's Kryo cannot serialize records
  private record OrderedPartition(CountedPartial partial, KeptRows rows)
      implements java.io.Serializable {}

  private static JavaRDD<OrderedPartition> rowPartitions(OrderedInput input,
      FeatureSelection selection, boolean keep) {
    JavaRDD<InternalRow> rows = InternalRows.of(input.selectWithOrigin(selection.projection()));
    int fileIndex = selection.projection().length;
    int length = selection.vectorLength();
    return rows.mapPartitions(it -> {
      InputOrder.Counter counter = new InputOrder.Counter();
      RowFolding folding = new RowFolding(selection);
      KeptRows kept = keep ? new KeptRows(length) : null;
      double[] values = keep ? new double[length] : null;
      while (it.hasNext()) {
        InternalRow row = it.next();
        UTF8String file = row.getUTF8String(fileIndex);
        long start = row.getLong(fileIndex + 1);
        counter.add(file, start);
        folding.add(row);
        if (kept != null && kept.complete()) {
          try {
            selection.values(row, values);
            kept.add(file, start, values, 0);
          } catch (InputException incomplete) {
            // a null (folding.add has checked the vector length): counted as invalid by the
            // exact pass, which the minibatch statistics refuse; once per partition at most
            kept.markIncomplete();
          }
        }
      }
      TaskHook.afterWork("exact pass, ordered");
      return Collections.singletonList(new OrderedPartition(
          new CountedPartial(folding.accumulator(), counter), kept == null ? null : kept.trim()))
          .iterator();
    });
  }

  /**
   * {@link #rowPartitions} over the columnar batches of a Parquet or ORC scan: the features as
   * {@link #compute} reads them, the origin from the scan's file and split columns; kept rows are
   * copied a tile of {@value #KEEP_TILE_ROWS} rows at a time, one column loop per tile (reading a
   * row across thousands of column vectors value by value cost 90 ns per value on 3,000 columns;
   * tiles of 16 rows, 70% of the pass in the column copy).
   */
  private static JavaRDD<OrderedPartition> columnarPartitions(ColumnarScan scan,
      FeatureSelection selection, boolean keep) {
    JavaRDD<ColumnarBatch> batches = scan.batches().toJavaRDD();
    int d = selection.size();
    int[] columns = Arrays.copyOf(scan.columns(), d);
    DataType[] types = Arrays.copyOf(scan.types(), d);
    int fileColumn = scan.columns()[d];
    int startColumn = scan.columns()[d + 1];
    return batches.mapPartitions(it -> {
      InputOrder.Counter counter = new InputOrder.Counter();
      RowFolding folding = new RowFolding(selection);
      KeptRows kept = keep ? new KeptRows(d) : null;
      double[] tile = keep ? new double[Math.multiplyExact(KEEP_TILE_ROWS, d)] : null;
      while (it.hasNext()) {
        ColumnarBatch batch = it.next();
        ColumnVector files = batch.column(fileColumn);
        ColumnVector starts = batch.column(startColumn);
        for (int i = 0; i < batch.numRows(); i++) {
          counter.add(files.getUTF8String(i), starts.getLong(i));
        }
        folding.addBatch(batch, columns, types);
        if (kept != null && kept.complete()) {
          keep(batch, columns, types, files, starts, kept, tile);
        }
      }
      TaskHook.afterWork("exact pass, ordered, columnar");
      return Collections.singletonList(new OrderedPartition(
          new CountedPartial(folding.accumulator(), counter), kept == null ? null : kept.trim()))
          .iterator();
    });
  }

  /** Rows per tile when a columnar batch's rows are kept: 6 MB of doubles at 3,000 features. */
  static final int KEEP_TILE_ROWS = 256;

  /** Keeps the rows of a batch, a tile at a time; marks {@code kept} incomplete at a null. */
  private static void keep(ColumnarBatch batch, int[] columns, DataType[] types, ColumnVector files,
      ColumnVector starts, KeptRows kept, double[] tile) {
    int d = types.length;
    for (int from = 0; from < batch.numRows(); from += KEEP_TILE_ROWS) {
      int n = Math.min(KEEP_TILE_ROWS, batch.numRows() - from);
      for (int j = 0; j < d; j++) {
        ColumnVector c = batch.column(columns[j]);
        if (c.hasNull()) {
          for (int i = from; i < from + n; i++) {
            if (c.isNullAt(i)) {
              kept.markIncomplete();
              return;
            }
          }
        }
        RowFolding.copyColumn(c, types[j], from, n, tile, j, d);
      }
      for (int r = 0; r < n; r++) {
        kept.add(files.getUTF8String(from + r), starts.getLong(from + r), tile, r * d);
      }
    }
  }

  /** Merges the partitions' moments (exactly) and row counts in a tree. */
  private static CountedPartial treeMergeCounted(JavaRDD<CountedPartial> partials,
      FeatureSelection selection) {
    if (partials.getNumPartitions() == 0) {
      return new CountedPartial(new MomentAccumulator(selection.size(),
          selection.valuesPerFeature()), new InputOrder.Counter());
    }
    return partials.treeReduce((a, b) -> {
      a.moments().merge(b.moments());
      a.counter().merge(b.counter());
      return a;
    }, partials.getNumPartitions() > 64 ? 3 : 2);
  }

  @DefaultSerializer(JavaSerializer.class) // Spark's Kryo cannot serialize records
  private record CountedPartial(MomentAccumulator moments, InputOrder.Counter counter)
      implements java.io.Serializable {}

  private static DatasetStatistics result(MomentAccumulator total, FeatureSelection selection) {
    List<FeatureStatistics> features = new ArrayList<>(selection.size());
    List<ScalarMoments> states = new ArrayList<>(selection.size());
    for (int j = 0; j < selection.size(); j++) {
      features.add(new FeatureStatistics(selection.featureName(j), j, total.moments(j)));
      states.add(total.state(j));
    }
    return new DatasetStatistics(total.rows(), List.copyOf(features), List.copyOf(states));
  }

  private static MomentAccumulator merge(MomentAccumulator a, MomentAccumulator b) {
    a.merge(b);
    return a;
  }


}
