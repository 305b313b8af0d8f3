package io.normstats.norm;

import java.io.Serializable;

/**
 * A normalization of fixed-length vectors, {@code y = f(x)}, in plain Java: what a Spark ML stage
 * applies to each row. Implementations are immutable and serializable; {@link #applier()} gives a
 * per-thread object with scratch space, so that normalizing a row allocates nothing.
 */
public abstract class VectorNormalization implements Serializable {
  private static final long serialVersionUID = 1L;

  /** Normalizes rows; not thread-safe. */
  public interface Applier {
    /**
     * Writes the normalization of {@code x} to {@code y}.
     *
     * @param x the input, of length {@link #length()} (a non-finite value gives non-finite outputs)
     * @param y the output, of the same length; may be {@code x} itself
     */
    void apply(double[] x, double[] y);
  }

  /** The vector length L this normalization takes and gives; 0 when any length is accepted. */
  public abstract int length();

  /** A new applier with its own scratch space. */
  public abstract Applier applier();

  /** Validates that {@code v}, if given, has one value per channel (or per element). */
  /** Magnitudes above this may overflow a sum of squares. */
  static final double LARGE = 0x1p480;

  /**
   * 1, or when the largest finite magnitude in {@code x[from .. from+count)} exceeds 2^480, the
   * power of two that brings it into [1, 2): multiplying by it is exact (values far below the
   * largest may lose bits to underflow, which cannot change a result dominated by the largest).
   */
  static double rangeScale(double[] x, int from, int count) {
    double big = 0;
    for (int k = from; k < from + count; k++) {
      double a = Math.abs(x[k]);
      if (a > big && a != Double.POSITIVE_INFINITY) {
        big = a;
      }
    }
    return big > LARGE ? Math.scalb(1.0, -Math.getExponent(big)) : 1;
  }

  static double[] checked(double[] v, int expected, String what) {
    if (v != null && v.length != expected) {
      throw new IllegalArgumentException(what + " has length " + v.length + ", expected "
          + expected);
    }
    return v == null ? null : v.clone();
  }
}
