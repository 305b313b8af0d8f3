package io.normstats.minibatch;

import java.io.Serializable;

/**
 * The minibatches of one batch size over a training run, as a PyTorch DataLoader forms them.
 *
 * <p>Each epoch orders the {@code rows} rows (the input order, or a {@link Permutation}); batch
 * {@code b} of the epoch holds positions {@code b*m .. b*m+m-1}. With {@code dropLast} (PyTorch's
 * {@code drop_last=True}) the final partial batch is dropped; otherwise it is kept, except a final
 * batch of one row, which BatchNorm cannot train on (PyTorch raises "Expected more than 1 value per
 * channel when training"), so it is dropped too. Steps are numbered {@code 1 .. steps()} over all
 * epochs: batch {@code b} of epoch {@code e} is step {@code e * batchesPerEpoch() + b + 1}.
 *
 * <p>Trace checkpoints: {@code P = min(tracePoints, steps)} evenly spaced steps
 * {@code n_k = floor(k * steps / P)}, {@code k = 1 .. P}, the last being the final step. Segment
 * {@code k} is the run of steps {@code (n_(k-1), n_k]}.
 */
public final class BatchSchedule implements Serializable {
  private static final long serialVersionUID = 1L;

  private final long rows;
  private final int batchSize;
  private final int epochs;
  private final long batchesPerEpoch;
  private final int lastSize;
  private final int checkpoints;

  /**
   * @param rows the number of rows in an epoch
   * @param batchSize m, at least 2 and at most {@code rows}
   * @param epochs the number of epochs, at least 1
   * @param dropLast whether to drop the final partial batch of each epoch
   * @param tracePoints the number of trace checkpoints wanted, at least 1
   * @throws IllegalArgumentException if an argument is out of range
   */
  public BatchSchedule(long rows, int batchSize, int epochs, boolean dropLast, int tracePoints) {
    if (batchSize < 2 || batchSize > rows) {
      throw new IllegalArgumentException("batch size " + batchSize + " outside [2, " + rows + "]");
    }
    if (epochs < 1 || tracePoints < 1) {
      throw new IllegalArgumentException("epochs and trace points must be at least 1");
    }
    this.rows = rows;
    this.batchSize = batchSize;
    this.epochs = epochs;
    long full = rows / batchSize;
    int rest = (int) (rows % batchSize);
    boolean keepRest = !dropLast && rest >= 2;
    this.batchesPerEpoch = full + (keepRest ? 1 : 0);
    this.lastSize = keepRest ? rest : batchSize;
    this.checkpoints = (int) Math.min(tracePoints, steps());
  }

  /** The nominal batch size m. */
  public int batchSize() {
    return batchSize;
  }

  /** The rows in an epoch (all of them, including those a dropped last batch leaves out). */
  public long rows() {
    return rows;
  }

  /** The number of epochs. */
  public int epochs() {
    return epochs;
  }

  /** Batches per epoch. */
  public long batchesPerEpoch() {
    return batchesPerEpoch;
  }

  /** Steps (batches) over all epochs. */
  public long steps() {
    return batchesPerEpoch * epochs;
  }

  /** The number of rows of batch {@code b} of an epoch; 0 if position {@code b*m} starts no batch. */
  public int sizeOf(long b) {
    if (b < 0 || b >= batchesPerEpoch) {
      return 0;
    }
    return b == batchesPerEpoch - 1 ? lastSize : batchSize;
  }

  /** The rows of an epoch that are in some batch. */
  public long rowsUsedPerEpoch() {
    return (batchesPerEpoch - 1) * batchSize + lastSize;
  }

  /** The number of trace checkpoints P. */
  public int checkpoints() {
    return checkpoints;
  }

  /** The step of checkpoint {@code k} in {@code 1..P}: {@code floor(k * steps / P)}; 0 for k = 0. */
  public long checkpoint(int k) {
    return Math.multiplyExact(k, steps()) / checkpoints;
  }

  /** The segment {@code k} in {@code 1..P} that step {@code n} (1-based) belongs to. */
  public int segmentOf(long n) {
    // smallest k with floor(k * steps / P) >= n, i.e. k >= n * P / steps
    long k = (Math.multiplyExact(n, checkpoints) + steps() - 1) / steps();
    return (int) k;
  }
}
