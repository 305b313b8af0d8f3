package io.normstats.minibatch;

import java.util.ArrayList;
import java.util.List;

/**
 * Folds the minibatches that start in one range of positions into one {@link EstimateAccumulator}
 * per batch size: the work of one Spark reduce task, in plain Java.
 *
 * <p>Positions: with shuffling, epoch {@code c} orders the rows by its own permutation, and row
 * position {@code p} of epoch {@code c} is the global position {@code q = c * rows + p}; without
 * shuffling every epoch has the input order and there is one copy ({@code q = p}), whose batches each
 * count for every epoch. The folder owns the batches whose first position lies in
 * {@code [from, to)}; it must be given, in increasing order of q, every row from {@code from} up to
 * the end of its last batch, which may reach up to {@code maxBatchSize - 1} positions past
 * {@code to}. Rows it does not need (the tail of a batch owned by the previous range, rows of a
 * dropped last batch) are ignored.
 *
 * <p>Each batch size keeps a buffer of one batch, so memory is {@code sum of m * F} doubles.
 */
public final class MinibatchFolder {
  private final DatasetMoments exact;
  private final CompareSettings settings;
  private final long rows;
  private final long from;
  private final long to;
  private final int features;
  private final List<BatchSchedule> schedules;
  private final List<EstimateAccumulator> accumulators = new ArrayList<>();
  private final double[][] buffers;
  private final int[] filled;
  private final long[] batchStart;
  private final BatchMoments moments;
  private final double[] delta;
  private final double[] variance;
  private long lastPosition = -1;
  private BatchObserver observer;
  private boolean accumulate = true;

  /** Sees every batch this folder completes, once (not once per epoch it counts for). */
  public interface BatchObserver {
    /**
     * @param batchSizeIndex the index of the batch's schedule
     * @param size the batch's number of rows
     * @param delta {@code mu_B - mu} per feature (valid during the call only)
     * @param variance the biased {@code sigma2_B} per feature (valid during the call only)
     */
    void batch(int batchSizeIndex, int size, double[] delta, double[] variance);
  }

  /**
   * Sends every completed batch to {@code observer}; with {@code accumulate} false the
   * accumulators are left empty (a pass that only observes).
   */
  public MinibatchFolder observe(BatchObserver observer, boolean accumulate) {
    this.observer = observer;
    this.accumulate = accumulate;
    return this;
  }

  /**
   * @param exact the exact statistics (F features)
   * @param settings the comparison settings
   * @param schedules one schedule per batch size, in the settings' order
   * @param from the first position whose batches this folder owns
   * @param to the end (exclusive) of the positions whose batches it owns
   */
  public MinibatchFolder(DatasetMoments exact, CompareSettings settings,
      List<BatchSchedule> schedules, long from, long to) {
    this.exact = exact;
    this.settings = settings;
    this.schedules = List.copyOf(schedules);
    this.rows = schedules.get(0).rows();
    this.from = from;
    this.to = to;
    this.features = exact.features();
    int n = schedules.size();
    this.buffers = new double[n][];
    this.filled = new int[n];
    this.batchStart = new long[n];
    for (int i = 0; i < n; i++) {
      BatchSchedule s = schedules.get(i);
      accumulators.add(new EstimateAccumulator(s, features));
      buffers[i] = new double[Math.multiplyExact(s.batchSize(), features)];
      batchStart[i] = -1;
    }
    this.moments = new BatchMoments(features);
    this.delta = new double[features];
    this.variance = new double[features];
  }

  /**
   * Takes the row at global position {@code q}.
   *
   * @param values the row's F feature values (copied)
   * @throws IllegalStateException if positions do not increase, or a row of an open batch is missing
   */
  public void accept(long q, double[] values) {
    if (q <= lastPosition) {
      throw new IllegalStateException("positions out of order: " + q + " after " + lastPosition);
    }
    lastPosition = q;
    long copy = q / rows;
    long p = q % rows;
    for (int i = 0; i < schedules.size(); i++) {
      BatchSchedule s = schedules.get(i);
      int m = s.batchSize();
      long b = p / m;
      int size = s.sizeOf(b);
      if (size == 0) {
        continue; // in a dropped last batch
      }
      long start = copy * rows + b * m;
      if (start < from || start >= to) {
        continue; // another range's batch
      }
      int offset = (int) (p - b * m);
      if (offset == 0) {
        if (filled[i] != 0) {
          throw new IllegalStateException("batch at " + batchStart[i] + " incomplete");
        }
        batchStart[i] = start;
      } else if (batchStart[i] != start || filled[i] != offset) {
        long missing = batchStart[i] == start ? start + filled[i] : start;
        throw new IllegalStateException("position " + missing + " missing before " + q
            + " (batch size " + m + ")");
      }
      System.arraycopy(values, 0, buffers[i], offset * features, features);
      filled[i] = offset + 1;
      if (filled[i] == size) {
        fold(i, copy, b, size);
        filled[i] = 0;
      }
    }
  }

  private void fold(int i, long copy, long b, int size) {
    BatchSchedule s = schedules.get(i);
    moments.compute(buffers[i], size, exact.means(), delta, variance);
    if (observer != null) {
      observer.batch(i, size, delta, variance);
    }
    if (!accumulate) {
      return;
    }
    EstimateAccumulator acc = accumulators.get(i);
    long perEpoch = s.batchesPerEpoch();
    if (settings.shuffle()) {
      acc.add(copy * perEpoch + b + 1, size, delta, variance, exact, settings);
    } else {
      for (int e = 0; e < s.epochs(); e++) {
        acc.add(e * perEpoch + b + 1, size, delta, variance, exact, settings);
      }
    }
  }

  /**
   * The accumulators, one per batch size.
   *
   * @throws IllegalStateException if a batch this folder owns was not completed
   */
  public List<EstimateAccumulator> finish() {
    for (int i = 0; i < filled.length; i++) {
      if (filled[i] != 0) {
        throw new IllegalStateException("batch of size " + schedules.get(i).batchSize() + " at "
            + batchStart[i] + " incomplete: " + filled[i] + " rows");
      }
    }
    return accumulators;
  }

  /** The number of global positions: {@code rows * epochs} with shuffling, else {@code rows}. */
  public static long positions(long rows, CompareSettings settings) {
    return settings.shuffle() ? Math.multiplyExact(rows, settings.epochs()) : rows;
  }

  /**
   * The global position of the row with input index {@code g} in epoch copy {@code copy}.
   *
   * @param permutation the copy's permutation, or null without shuffling
   */
  public static long position(long g, long copy, long rows, Permutation permutation) {
    return copy * rows + (permutation == null ? g : permutation.apply(g));
  }
}
