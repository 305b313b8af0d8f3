package io.normstats.minibatch;

import java.io.Serializable;

/**
 * The distribution of a non-negative error over many (batch, feature) pairs, in logarithmic bins of
 * {@value #PER_DECADE} per decade from 1e-8 to 1e4, plus one bin below (zero included) and one
 * above; NaN (undefined) values are counted apart, and the exact maximum is kept. Constant size,
 * mergeable, and deterministic (bin edges from {@link StrictMath#pow}; a value equal to an edge
 * belongs to the bin above it).
 */
public final class ErrorHistogram implements Serializable {
  private static final long serialVersionUID = 1L;

  /** The decimal exponent of the lowest bin edge. */
  public static final int LOW_EXPONENT = -8;
  /** The decimal exponent of the highest bin edge. */
  public static final int HIGH_EXPONENT = 4;
  /** Bins per decade. */
  public static final int PER_DECADE = 20;
  static final int BINS = (HIGH_EXPONENT - LOW_EXPONENT) * PER_DECADE;

  private final long[] counts = new long[BINS + 2];
  private long undefined;
  private double max = Double.NaN;

  /** Counts {@code x} (at least 0, or NaN for undefined). */
  public void add(double x) {
    if (Double.isNaN(x)) {
      undefined++;
      return;
    }
    counts[bin(x)]++;
    max = Double.isNaN(max) ? x : Math.max(max, x);
  }

  /** The bins' upper edges: {@code EDGES[i] = upperEdge(i)} for i in 0..BINS. */
  private static final double[] EDGES = new double[BINS + 1];

  /**
   * Positive doubles ordered as their bits: {@code bits >>> SHIFT} is the binary exponent and the
   * top {@code 52 - SHIFT} significand bits, so each key spans 1/64 of an octave (0.0047 decades,
   * less than a bin's 0.05) and holds at most one bin edge.
   */
  private static final int SHIFT = 52 - 6;
  private static final long LOW_KEY = Double.doubleToRawLongBits(
      StrictMath.pow(10, LOW_EXPONENT)) >>> SHIFT;
  /** Per key from LOW_KEY: the bin of the key's smallest double. */
  private static final byte[] KEY_BINS;

  static {
    for (int i = 0; i <= BINS; i++) {
      EDGES[i] = upperEdge(i);
    }
    long highKey = Double.doubleToRawLongBits(EDGES[BINS]) >>> SHIFT;
    KEY_BINS = new byte[(int) (highKey - LOW_KEY + 1)];
    int i = 0;
    for (int k = 0; k < KEY_BINS.length; k++) {
      double lowest = Double.longBitsToDouble((LOW_KEY + k) << SHIFT);
      double highest = Double.longBitsToDouble(((LOW_KEY + k + 1) << SHIFT) - 1);
      while (i <= BINS && lowest >= EDGES[i]) {
        i++;
      }
      if (i + 1 <= BINS && highest >= EDGES[i + 1]) {
        throw new AssertionError("two bin edges within one key");
      }
      KEY_BINS[k] = (byte) i;
    }
  }

  /**
   * The bin of {@code x} (not NaN): the first i with {@code x < upperEdge(i)}, or BINS + 1. The top
   * bits of x index a table of the bin of each 1/64 octave, and one comparison with the edge that
   * may lie inside it settles the bin, without branches, so the bin depends on the edges only. (A
   * logarithm per value cost more than the rest of the estimator update: {@code StrictMath.log10}
   * is a JNI call on Java 17; a guess from the exponent settled by loops over the edges made the
   * estimator update, which bins two values, 110 ns instead of 53, mostly mispredicted branches.)
   */
  static int bin(double x) {
    if (!(x >= EDGES[0])) {
      return 0;
    }
    if (x >= EDGES[BINS]) {
      return BINS + 1;
    }
    int i = KEY_BINS[(int) ((Double.doubleToRawLongBits(x) >>> SHIFT) - LOW_KEY)] & 0xff;
    return x >= EDGES[i] ? i + 1 : i;
  }

  /** The upper edge of bin {@code i} (1e-8 for the bin below; +Infinity for the bin above). */
  public static double upperEdge(int i) {
    if (i > BINS) {
      return Double.POSITIVE_INFINITY;
    }
    return StrictMath.pow(10, LOW_EXPONENT + (double) i / PER_DECADE);
  }

  /** Adds {@code other}'s counts to this one's. */
  public void merge(ErrorHistogram other) {
    for (int i = 0; i < counts.length; i++) {
      counts[i] += other.counts[i];
    }
    undefined += other.undefined;
    if (!Double.isNaN(other.max)) {
      max = Double.isNaN(max) ? other.max : Math.max(max, other.max);
    }
  }

  /** How many defined values were counted. */
  public long defined() {
    long n = 0;
    for (long c : counts) {
      n += c;
    }
    return n;
  }

  /** How many NaN values were counted. */
  public long undefined() {
    return undefined;
  }

  /** The largest value counted, NaN if none. */
  public double max() {
    return max;
  }

  /** The counts per bin: below 1e-8, the {@link #BINS} logarithmic bins, at or above 1e4. */
  public long[] counts() {
    return counts.clone();
  }

  /**
   * An upper bound on the {@code p}-quantile (0 &lt; p &lt;= 1): the upper edge of the bin holding
   * it, or the maximum if that is smaller; at most 12% (one bin) above the true quantile. NaN if
   * nothing was counted.
   */
  public double quantileUpperBound(double p) {
    long n = defined();
    if (n == 0) {
      return Double.NaN;
    }
    long rank = (long) Math.ceil(p * n);
    long seen = 0;
    for (int i = 0; i < counts.length; i++) {
      seen += counts[i];
      if (seen >= rank) {
        return Math.min(upperEdge(i), max);
      }
    }
    return max;
  }
}
