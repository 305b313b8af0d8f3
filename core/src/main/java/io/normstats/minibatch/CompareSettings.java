package io.normstats.minibatch;

import com.esotericsoftware.kryo.DefaultSerializer;
import com.esotericsoftware.kryo.serializers.JavaSerializer;
import io.normstats.Defaults;
import java.io.Serializable;
import java.util.Arrays;

/**
 * What a comparison simulates: the batch sizes, the epochs and minibatch order, and the
 * hyperparameters of the estimators and of BatchNorm.
 *
 * @param batchSizes the batch sizes m, distinct, each at least 2
 * @param epochs passes over the data, at least 1
 * @param shuffle a new {@link Permutation} per epoch (PyTorch DataLoader {@code shuffle=True}), or
 *     the input order in every epoch
 * @param seed the permutation seed (ignored without shuffle)
 * @param dropLast drop the final partial batch of each epoch ({@code drop_last=True})
 * @param momentum PyTorch BatchNorm momentum a in (0, 1]: {@code r = (1-a)*r + a*mu_B}
 * @param kerasMomentum Keras BatchNormalization momentum b in [0, 1): {@code r = b*r + (1-b)*mu_B}
 * @param epsilon BatchNorm's epsilon, added to the variance before the square root, at least 0
 * @param tracePoints how many evenly spaced steps the moving-average traces report, at least 1
 * @param renormRmax Batch Renormalization r_max, at least 1 (arXiv:1702.03275)
 * @param renormDmax Batch Renormalization d_max, at least 0
 */
@DefaultSerializer(JavaSerializer.class) // Spark's Kryo cannot serialize records
public record CompareSettings(int[] batchSizes, int epochs, boolean shuffle, long seed,
    boolean dropLast, double momentum, double kerasMomentum, double epsilon, int tracePoints,
    double renormRmax, double renormDmax) implements Serializable {

  /**
   * PyTorch's defaults (momentum 0.1, epsilon 1e-5), Keras' momentum 0.99, r_max 3, d_max 5; one
   * shuffled epoch (seed 0) with the last partial batch dropped; 200 trace points.
   */
  public static CompareSettings defaults(int... batchSizes) {
    return builder(batchSizes).build();
  }

  /** A builder at {@link #defaults}, for the given batch sizes. */
  public static Builder builder(int... batchSizes) {
    return new Builder(batchSizes);
  }

  /**
   * Settings by name rather than by position; each setter's meaning and range is the record
   * component's of the same name. {@link #build} checks them.
   */
  public static final class Builder {
    private final int[] batchSizes;
    private int epochs = 1;
    private boolean shuffle = true;
    private long seed;
    private boolean dropLast = true;
    private double momentum = Defaults.MOMENTUM;
    private double kerasMomentum = Defaults.KERAS_MOMENTUM;
    private double epsilon = Defaults.EPSILON;
    private int tracePoints = 200;
    private double renormRmax = 3;
    private double renormDmax = 5;

    private Builder(int[] batchSizes) {
      this.batchSizes = batchSizes.clone();
    }

    /** Passes over the data. */
    public Builder epochs(int value) {
      epochs = value;
      return this;
    }

    /** A new permutation per epoch, or the input order. */
    public Builder shuffle(boolean value) {
      shuffle = value;
      return this;
    }

    /** The permutation seed. */
    public Builder seed(long value) {
      seed = value;
      return this;
    }

    /** Drop the final partial batch of each epoch. */
    public Builder dropLast(boolean value) {
      dropLast = value;
      return this;
    }

    /** PyTorch BatchNorm momentum. */
    public Builder momentum(double value) {
      momentum = value;
      return this;
    }

    /** Keras BatchNormalization momentum. */
    public Builder kerasMomentum(double value) {
      kerasMomentum = value;
      return this;
    }

    /** BatchNorm's epsilon. */
    public Builder epsilon(double value) {
      epsilon = value;
      return this;
    }

    /** Steps the moving-average traces report. */
    public Builder tracePoints(int value) {
      tracePoints = value;
      return this;
    }

    /** Batch Renormalization r_max. */
    public Builder renormRmax(double value) {
      renormRmax = value;
      return this;
    }

    /** Batch Renormalization d_max. */
    public Builder renormDmax(double value) {
      renormDmax = value;
      return this;
    }

    /**
     * The settings.
     *
     * @throws IllegalArgumentException naming the first setting out of range
     */
    public CompareSettings build() {
      return new CompareSettings(batchSizes, epochs, shuffle, seed, dropLast, momentum,
          kerasMomentum, epsilon, tracePoints, renormRmax, renormDmax);
    }
  }

  /** @throws IllegalArgumentException naming the first setting out of range */
  public CompareSettings {
    batchSizes = batchSizes.clone();
    if (batchSizes.length == 0 || Arrays.stream(batchSizes).distinct().count() != batchSizes.length) {
      throw new IllegalArgumentException("batch sizes must be given once each: "
          + Arrays.toString(batchSizes));
    }
    for (int m : batchSizes) {
      if (m < 2) {
        throw new IllegalArgumentException("batch size " + m + " is below 2: BatchNorm needs at "
            + "least 2 rows per batch to train");
      }
    }
    check(epochs >= 1, "epochs must be at least 1: " + epochs);
    check(momentum > 0 && momentum <= 1, "momentum must be in (0, 1]: " + momentum);
    check(kerasMomentum >= 0 && kerasMomentum < 1, "Keras momentum must be in [0, 1): "
        + kerasMomentum);
    check(epsilon >= 0 && Double.isFinite(epsilon), "epsilon must be finite and >= 0: " + epsilon);
    check(tracePoints >= 1 && tracePoints <= 100_000, "trace points must be in [1, 100000]: "
        + tracePoints);
    check(renormRmax >= 1 && Double.isFinite(renormRmax), "r_max must be finite and >= 1: "
        + renormRmax);
    check(renormDmax >= 0 && Double.isFinite(renormDmax), "d_max must be finite and >= 0: "
        + renormDmax);
  }

  private static void check(boolean ok, String message) {
    if (!ok) {
      throw new IllegalArgumentException(message);
    }
  }

  /** A copy of the batch sizes. */
  @Override
  public int[] batchSizes() {
    return batchSizes.clone();
  }

  /** The largest batch size. */
  public int maxBatchSize() {
    return Arrays.stream(batchSizes).max().orElseThrow();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof CompareSettings s && Arrays.equals(batchSizes, s.batchSizes)
        && epochs == s.epochs && shuffle == s.shuffle && seed == s.seed && dropLast == s.dropLast
        && Double.compare(momentum, s.momentum) == 0
        && Double.compare(kerasMomentum, s.kerasMomentum) == 0
        && Double.compare(epsilon, s.epsilon) == 0 && tracePoints == s.tracePoints
        && Double.compare(renormRmax, s.renormRmax) == 0
        && Double.compare(renormDmax, s.renormDmax) == 0;
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(batchSizes) * 31 + Long.hashCode(seed) + epochs;
  }

  @Override
  public String toString() {
    return "CompareSettings[batchSizes=" + Arrays.toString(batchSizes) + ", epochs=" + epochs
        + ", shuffle=" + shuffle + ", seed=" + seed + ", dropLast=" + dropLast + ", momentum="
        + momentum + ", kerasMomentum=" + kerasMomentum + ", epsilon=" + epsilon
        + ", tracePoints=" + tracePoints + ", renormRmax=" + renormRmax + ", renormDmax="
        + renormDmax + "]";
  }
}
