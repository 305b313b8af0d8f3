package io.normstats.spark;

import io.normstats.minibatch.BatchSchedule;
import io.normstats.minibatch.CompareSettings;
import io.normstats.minibatch.Comparison;
import io.normstats.minibatch.DatasetMoments;
import io.normstats.minibatch.EstimateAccumulator;
import io.normstats.minibatch.LinearHistogram;
import io.normstats.minibatch.MinibatchFolder;
import io.normstats.minibatch.Permutation;
import io.normstats.result.FeatureStatistics;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import org.apache.spark.Partitioner;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import scala.Tuple2;

/**
 * The minibatch comparison on Spark: every batch size, estimator and epoch in one pass over the
 * rows the exact-statistics pass kept ({@link ExactStatistics#computeOrderedKeepingRows}: the input
 * is read once), with nothing proportional to the number of batches on the driver.
 *
 * <ol>
 *   <li>Each kept row gets its input index g ({@link InputOrder}), and for each epoch (one copy
 *       without shuffling) its global position {@code q = epoch * N + permutation(g)}
 *       ({@link MinibatchFolder#position}). All batch sizes share the order of an epoch, so the rows
 *       are shuffled once per epoch, not once per batch size.</li>
 *   <li>Each row travels once per epoch copy, packed as it was kept, in the fewest bytes that keep
 *       its values ({@link PackedRows}: one byte per 8-bit pixel). The shuffle sends position range
 *       {@code [r*L, (r+1)*L)} to reduce task r, plus the first {@code maxBatchSize - 1} positions
 *       of the next range, so that every batch that starts in the range is complete in the task;
 *       the task unpacks each row straight to its place in one block of rows in position order
 *       (no sort), whatever order the rows arrive in.</li>
 *   <li>Each task folds its batches, each a slice of the block, in step order
 *       ({@link MinibatchFolder}; a batch of 8-bit rows, as the packed form says, takes the
 *       one-pass exact-sum kernel) into one {@link EstimateAccumulator} per batch size, and the
 *       tasks' accumulators are merged in a tree of fixed shape ({@link #orderedTreeReduce}).</li>
 * </ol>
 *
 * <p>The range length L depends only on the feature count and the batch sizes (each task gets about
 * {@value #TASK_BYTES} bytes of rows), and so do the order of every floating-point operation: the
 * result is bit-for-bit the same for any input partitioning, split size, executor count, and task
 * retries.
 */
public final class MinibatchComparison {
  /**
   * The bytes of row data (as doubles) each reduce task folds, before overlap: its block of rows in
   * memory.
   */
  static final long TASK_BYTES = 32L << 20;
  /** The most reduce tasks the shuffle is cut into. */
  static final int MAX_TASKS = 1_000_000;
  /** Partial results merged per tree node. */
  static final int FAN_IN = 16;

  private final List<String> names;
  private final DatasetMoments truth;
  private final CompareSettings settings;
  private final List<BatchSchedule> schedules;
  private final long positions;
  private final long rangeLength;
  private final Broadcast<InputOrder> order;
  private final Broadcast<DatasetMoments> moments;
  private final JavaPairRDD<Long, byte[]> placed;

  private MinibatchComparison(ExactStatistics.OrderedRows kept, FeatureSelection selection,
      CompareSettings settings) {
    ExactStatistics.Ordered exact = kept.ordered();
    if (selection.channels() != 0) {
      throw new IllegalArgumentException("the minibatch comparison takes one feature per element, "
          + "not channels");
    }
    long rows = exact.order().rows();
    int f = selection.size();
    double[] mean = new double[f];
    double[] variance = new double[f];
    List<String> featureNames = new ArrayList<>(f);
    for (FeatureStatistics feature : exact.result().features()) {
      mean[feature.index()] = feature.moments().mean();
      variance[feature.index()] = feature.moments().varPop();
      featureNames.add(feature.name());
    }
    this.names = List.copyOf(featureNames);
    this.truth = new DatasetMoments(mean, variance, settings.epsilon());
    this.settings = settings;
    List<BatchSchedule> list = new ArrayList<>();
    for (int m : settings.batchSizes()) {
      list.add(new BatchSchedule(rows, m, settings.epochs(), settings.dropLast(),
          settings.tracePoints()));
    }
    this.schedules = List.copyOf(list);
    this.positions = MinibatchFolder.positions(rows, settings);
    this.rangeLength = rangeLength(f, settings.maxBatchSize(), positions);
    int tasks = (int) ((positions + rangeLength - 1) / rangeLength);

    JavaRDD<KeptRows> partitions = kept.rows();
    JavaSparkContext sc = JavaSparkContext.fromSparkContext(partitions.context());
    this.order = sc.broadcast(exact.order());
    this.moments = sc.broadcast(truth);
    int overlap = settings.maxBatchSize() - 1;
    long length = rangeLength;
    Broadcast<InputOrder> orderRef = order;
    JavaPairRDD<Long, byte[]> unplaced = partitions.mapPartitionsToPair(it -> TaskHook
        .afterLast(new Placer(it.next().cursor(), orderRef.value(), settings, rows, length,
            overlap), "minibatch pass, placing rows"));
    this.placed = unplaced.partitionBy(new RangeOfPositions(tasks, length));
  }

  /**
   * Runs the comparison over the rows the exact pass kept.
   *
   * @param exact the exact pass over the input, with its rows
   *     ({@link ExactStatistics#computeOrderedKeepingRows}), complete (no invalid values); left
   *     open
   * @param selection the features, as that pass read them
   * @param settings the batch sizes and hyperparameters; every batch size at most the row count
   * @throws IllegalStateException if a partition's rows were not kept (a null value)
   * @throws io.normstats.InputException (data) if kept rows that Spark lost and recomputed from the
   *     input differ from the first reading (the input changed)
   */
  public static Comparison.Result compute(ExactStatistics.OrderedRows exact,
      FeatureSelection selection, CompareSettings settings) {
    MinibatchComparison run = start(exact, selection, settings);
    try {
      return run.result();
    } finally {
      run.close();
    }
  }

  /**
   * Prepares a comparison whose passes share one shuffle: {@link #result()} is the minibatch pass;
   * {@link #batchMeans} a further pass over the same shuffled rows, which does not read the input
   * again. {@link #close()} releases the broadcast state. Arguments as {@link #compute}.
   */
  public static MinibatchComparison start(ExactStatistics.OrderedRows exact,
      FeatureSelection selection, CompareSettings settings) {
    return new MinibatchComparison(exact, selection, settings);
  }

  /** The minibatch pass: every estimator at every batch size. */
  public Comparison.Result result() {
    Broadcast<DatasetMoments> m = moments;
    CompareSettings s = settings;
    List<BatchSchedule> sch = schedules;
    long length = rangeLength;
    long total = positions;
    JavaRDD<List<EstimateAccumulator>> partials = placed.mapPartitionsWithIndex((r, it) -> {
      long from = r * length;
      MinibatchFolder folder = new MinibatchFolder(m.value(), s, sch, from,
          Math.min(total, from + length));
      fill(folder, it);
      List<EstimateAccumulator> folded = folder.finish();
      TaskHook.afterWork("minibatch pass, estimators");
      return List.of(folded).iterator();
    }, true);
    List<EstimateAccumulator> merged = orderedTreeReduce(partials, MinibatchComparison::merge);
    return Comparison.assemble(names, truth, settings, merged);
  }

  /**
   * The distribution of the single-minibatch means {@code mu_B} of one feature at one batch size,
   * over every batch (each counted once, also when it repeats over epochs without shuffling).
   *
   * @param batchSizeIndex the batch size's index in the settings
   * @param feature the feature
   * @param low the lower end of the bins, in the feature's units
   * @param high the upper end of the bins
   * @param bins the number of bins
   */
  public LinearHistogram batchMeans(int batchSizeIndex, int feature, double low, double high,
      int bins) {
    CompareSettings s = settings;
    List<BatchSchedule> sch = schedules;
    long length = rangeLength;
    long total = positions;
    double mu = truth.mean(feature);
    int f = truth.features();
    // A fold of the one feature at the one batch size: the same batches, and the same bits of
    // mu_B - mu (BatchMoments gives a feature's moments the same bits whatever the others), for
    // one value per record instead of all of them at every batch size.
    DatasetMoments one = new DatasetMoments(new double[] {mu},
        new double[] {truth.variance(feature)}, s.epsilon());
    List<BatchSchedule> only = List.of(sch.get(batchSizeIndex));
    JavaRDD<LinearHistogram> partials = placed.mapPartitionsWithIndex((r, it) -> {
      long from = r * length;
      LinearHistogram h = new LinearHistogram(low, high, bins);
      MinibatchFolder folder = new MinibatchFolder(one, s, only, from,
          Math.min(total, from + length))
          .observe((i, size, delta, variance) -> h.add(mu + delta[0]), false);
      double[] block = folder.block();
      while (it.hasNext()) {
        Tuple2<Long, byte[]> record = it.next();
        byte[] row = record._2();
        block[folder.offset(record._1() >>> 1, PackedRows.isUnsignedBytes(row))] =
            PackedRows.valueAt(row, f, feature);
      }
      folder.finish();
      return List.of(h).iterator();
    }, true);
    return orderedTreeReduce(partials, (a, b) -> {
      a.merge(b);
      return a;
    });
  }

  /** Unpacks a reduce task's shuffled rows into the folder's block, in the order they come. */
  private static void fill(MinibatchFolder folder, Iterator<Tuple2<Long, byte[]>> records) {
    double[] block = folder.block();
    int f = folder.features();
    while (records.hasNext()) {
      Tuple2<Long, byte[]> record = records.next();
      byte[] row = record._2();
      PackedRows.unpack(row, f, block, folder.offset(record._1() >>> 1,
          PackedRows.isUnsignedBytes(row)));
    }
  }

  /** Releases the broadcast state (the shuffle files go with the RDDs). */
  public void close() {
    order.destroy();
    moments.destroy();
  }

  /**
   * Positions per reduce task: about {@link #TASK_BYTES} of rows, at least 2 of the largest batches,
   * and few enough tasks for Spark ({@value #MAX_TASKS} at most). A function of the data's shape
   * only, never of the cluster.
   */
  static long rangeLength(int features, int maxBatchSize, long positions) {
    long rowBytes = 8L * features + 64;
    long byBytes = Math.max(2L * maxBatchSize, TASK_BYTES / rowBytes);
    return Math.max(byBytes, (positions + MAX_TASKS - 1) / MAX_TASKS);
  }

  private static List<EstimateAccumulator> merge(List<EstimateAccumulator> a,
      List<EstimateAccumulator> b) {
    for (int i = 0; i < a.size(); i++) {
      a.get(i).merge(b.get(i));
    }
    return a;
  }

  /**
   * Merges one element per partition in a tree whose shape depends only on the partition count:
   * groups of {@value #FAN_IN} consecutive partitions are merged in partition order, level by level,
   * and the last level on the driver. Unlike {@code treeReduce}, whose merge order follows task
   * completion, this makes non-associative (floating-point) merges deterministic.
   */
  static <T> T orderedTreeReduce(JavaRDD<T> partials,
      org.apache.spark.api.java.function.Function2<T, T, T> merge) {
    JavaPairRDD<Integer, T> level = partials.mapPartitionsWithIndex((i, it) -> {
      List<Tuple2<Integer, T>> out = new ArrayList<>();
      while (it.hasNext()) {
        out.add(new Tuple2<>(i, it.next()));
      }
      return out.iterator();
    }, true).mapToPair(t -> t);
    int n = partials.getNumPartitions();
    while (n > FAN_IN) {
      int groups = (n + FAN_IN - 1) / FAN_IN;
      level = level.mapToPair(t -> new Tuple2<>(t._1() / FAN_IN, t))
          .partitionBy(new Partitioner() {
            @Override
            public int numPartitions() {
              return groups;
            }

            @Override
            public int getPartition(Object key) {
              return (Integer) key;
            }
          })
          .mapPartitionsToPair(it -> {
            List<Tuple2<Integer, Tuple2<Integer, T>>> group = new ArrayList<>();
            it.forEachRemaining(group::add);
            if (group.isEmpty()) {
              return java.util.Collections.emptyIterator();
            }
            group.sort((x, y) -> Integer.compare(x._2()._1(), y._2()._1()));
            T acc = group.get(0)._2()._2();
            for (int k = 1; k < group.size(); k++) {
              acc = merge.call(acc, group.get(k)._2()._2());
            }
            return List.of(new Tuple2<>(group.get(0)._1(), acc)).iterator();
          });
      n = groups;
    }
    List<Tuple2<Integer, T>> top = new ArrayList<>(level.collect());
    top.sort((x, y) -> Integer.compare(x._1(), y._1()));
    T acc = top.get(0)._2();
    for (int k = 1; k < top.size(); k++) {
      try {
        acc = merge.call(acc, top.get(k)._2());
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    }
    return acc;
  }

  /**
   * Sends key {@code 2q} (position q) to task {@code q / L}, and key {@code 2q + 1} (the copy of a
   * row that the previous task needs to finish its last batches) to task {@code q / L - 1}.
   */
  static final class RangeOfPositions extends Partitioner {
    private static final long serialVersionUID = 1L;
    private final int tasks;
    private final long rangeLength;

    RangeOfPositions(int tasks, long rangeLength) {
      this.tasks = tasks;
      this.rangeLength = rangeLength;
    }

    @Override
    public int numPartitions() {
      return tasks;
    }

    @Override
    public int getPartition(Object key) {
      long k = (Long) key;
      return (int) ((k >>> 1) / rangeLength - (k & 1));
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof RangeOfPositions p && p.tasks == tasks && p.rangeLength == rangeLength;
    }

    @Override
    public int hashCode() {
      return Long.hashCode(rangeLength) * 31 + tasks;
    }
  }

  /**
   * Gives each kept row of a partition its input index, and emits (key, packed row) for its
   * position in every epoch copy, plus the overlap copies; lazily, a few records per row.
   */
  private static final class Placer implements Iterator<Tuple2<Long, byte[]>> {
    private final KeptRows.Cursor rows;
    private final InputOrder.Indexer indexer;
    private final long rowCount;
    private final long rangeLength;
    private final int overlap;
    private final Permutation[] permutations;
    private final List<Tuple2<Long, byte[]>> pending = new ArrayList<>();
    private int next;

    Placer(KeptRows.Cursor rows, InputOrder order, CompareSettings settings, long rowCount,
        long rangeLength, int overlap) {
      this.rows = rows;
      this.indexer = new InputOrder.Indexer(order);
      this.rowCount = rowCount;
      this.rangeLength = rangeLength;
      this.overlap = overlap;
      int copies = (int) (MinibatchFolder.positions(rowCount, settings) / rowCount);
      this.permutations = new Permutation[copies];
      for (int c = 0; c < copies; c++) {
        permutations[c] = settings.shuffle() ? new Permutation(rowCount, settings.seed(), c) : null;
      }
    }

    @Override
    public boolean hasNext() {
      while (next == pending.size()) {
        if (!rows.advance()) {
          return false;
        }
        place();
      }
      return true;
    }

    @Override
    public Tuple2<Long, byte[]> next() {
      if (!hasNext()) {
        throw new NoSuchElementException();
      }
      return pending.get(next++);
    }

    private void place() {
      pending.clear();
      next = 0;
      long index = indexer.next(rows.file(), rows.start());
      byte[] packed = rows.packedRow();
      for (int c = 0; c < permutations.length; c++) {
        long q = MinibatchFolder.position(index, c, rowCount, permutations[c]);
        pending.add(new Tuple2<>(q << 1, packed));
        long offsetInRange = q % rangeLength;
        if (q >= rangeLength && offsetInRange < overlap) {
          pending.add(new Tuple2<>((q << 1) | 1, packed));
        }
      }
    }
  }
}
