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
 * {@code [from, to)}; it must be given, in any order, every row from {@code from} up to the end of
 * its last batch, which may reach up to {@code maxBatchSize - 1} positions past {@code to}
 * ({@link #end()}). Rows it does not need (the tail of a batch owned by the previous range, rows of
 * a dropped last batch) may be given or not.
 *
 * <p>The rows are kept in one block in position order ({@code (end - from) * F} doubles), so every
 * batch of every size is a contiguous slice of it: {@link #finish()} computes each batch's moments
 * in place ({@link BatchMoments}) and folds the batches of each size in step order, which makes the
 * result independent of the order the rows arrived in. A batch whose rows were all given as 8-bit
 * ({@link #offset(long, boolean)}) gets its moments from exact sums in one pass
 * ({@link BatchMoments#computeUnsignedBytes}); which kernel a batch takes depends only on its rows.
 */
public final class MinibatchFolder {
  private final DatasetMoments exact;
  private final CompareSettings settings;
  private final long rows;
  private final long from;
  private final long to;
  private final long end;
  private final int features;
  private final List<BatchSchedule> schedules;
  private final double[] block;
  private final boolean[] present;
  private final boolean[] unsignedBytes;
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
   * @throws IllegalArgumentException if the block of rows would exceed 2^31 - 1 doubles
   */
  public MinibatchFolder(DatasetMoments exact, CompareSettings settings,
      List<BatchSchedule> schedules, long from, long to) {
    this.exact = exact;
    this.settings = settings;
    this.schedules = List.copyOf(schedules);
    this.rows = schedules.get(0).rows();
    this.from = from;
    this.to = to;
    this.end = Math.max(from, Math.min(positions(rows, settings), to + settings.maxBatchSize() - 1));
    this.features = exact.features();
    long doubles = (end - from) * features;
    if (doubles > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException("a range of " + (end - from) + " rows of " + features
          + " features does not fit one array");
    }
    this.block = new double[(int) doubles];
    this.present = new boolean[(int) (end - from)];
    this.unsignedBytes = new boolean[(int) (end - from)];
  }

  /** The number of features F. */
  public int features() {
    return features;
  }

  /** The end (exclusive) of the positions this folder reads: its last batch's end at most. */
  public long end() {
    return end;
  }

  /**
   * The rows' block, row-major in position order: the row at position q is at
   * {@code block()[offset(q) .. offset(q) + F)}.
   */
  public double[] block() {
    return block;
  }

  /**
   * Claims position {@code q}: the offset in {@link #block()} where its F values are to be written.
   *
   * @param unsignedBytes whether the row's values are all 8-bit
   *     ({@link BatchMoments#isUnsignedByte}); the caller vouches for it (a wrong true gives wrong
   *     moments)
   * @throws IllegalStateException if q is outside {@code [from, end())} or was given before
   */
  public int offset(long q, boolean unsignedBytes) {
    if (q < from || q >= end) {
      throw new IllegalStateException("position " + q + " outside [" + from + ", " + end + ")");
    }
    int slot = (int) (q - from);
    if (present[slot]) {
      throw new IllegalStateException("position " + q + " given twice");
    }
    present[slot] = true;
    this.unsignedBytes[slot] = unsignedBytes;
    return slot * features;
  }

  /**
   * Takes the row at global position {@code q}, 8-bit ({@link #offset(long, boolean)}) if its
   * values are.
   *
   * @param values the row's F feature values (copied)
   * @throws IllegalStateException as {@link #offset(long, boolean)}
   */
  public void accept(long q, double[] values) {
    boolean bytes = true;
    for (int k = 0; k < features && bytes; k++) {
      bytes = BatchMoments.isUnsignedByte(values[k]);
    }
    System.arraycopy(values, 0, block, offset(q, bytes), features);
  }

  /**
   * Folds every batch this folder owns, each batch size in step order.
   *
   * @return the accumulators, one per batch size
   * @throws IllegalStateException naming the first missing position of an owned batch
   */
  public List<EstimateAccumulator> finish() {
    BatchMoments moments = new BatchMoments(features);
    double[] delta = new double[features];
    double[] variance = new double[features];
    List<EstimateAccumulator> accumulators = new ArrayList<>();
    for (int i = 0; i < schedules.size(); i++) {
      BatchSchedule s = schedules.get(i);
      EstimateAccumulator acc = new EstimateAccumulator(s, features);
      accumulators.add(acc);
      int m = s.batchSize();
      long perEpoch = s.batchesPerEpoch();
      // the first batch starting at or after from: batches start at copy * rows + b * m
      long copy = from / rows;
      long b = ((from - copy * rows) + m - 1) / m;
      while (true) {
        if (b >= perEpoch) {
          copy++;
          b = 0;
        }
        long start = copy * rows + b * m;
        if (start >= to || start >= end) {
          break;
        }
        int size = s.sizeOf(b);
        if (size > 0) {
          int slot = (int) (start - from);
          boolean bytes = size <= BatchMoments.MAX_UNSIGNED_BYTE_BATCH;
          for (int k = 0; k < size; k++) {
            if (!present[slot + k]) {
              throw new IllegalStateException("position " + (start + k) + " missing (batch size "
                  + m + ")");
            }
            bytes &= unsignedBytes[slot + k];
          }
          if (bytes) {
            moments.computeUnsignedBytes(block, slot * features, size, exact.means(), delta,
                variance);
          } else {
            moments.compute(block, slot * features, size, exact.means(), delta, variance);
          }
          if (observer != null) {
            observer.batch(i, size, delta, variance);
          }
          if (accumulate) {
            if (settings.shuffle()) {
              acc.add(copy * perEpoch + b + 1, size, delta, variance, exact, settings);
            } else {
              for (int e = 0; e < s.epochs(); e++) {
                acc.add(e * perEpoch + b + 1, size, delta, variance, exact, settings);
              }
            }
          }
        }
        b++;
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
