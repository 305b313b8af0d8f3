package io.normstats.minibatch;

import java.io.Serializable;

/**
 * Counts of values in {@code bins} equal-width bins over {@code [low, high)}, with the values below
 * and above counted apart and the exact minimum and maximum kept. Mergeable; used for the
 * distribution of single-minibatch means of one feature.
 */
public final class LinearHistogram implements Serializable {
  private static final long serialVersionUID = 1L;

  private final double low;
  private final double high;
  private final long[] counts;
  private long below;
  private long above;
  private double min = Double.POSITIVE_INFINITY;
  private double max = Double.NEGATIVE_INFINITY;

  /**
   * @throws IllegalArgumentException unless {@code low < high} (both finite) and {@code bins >= 1}
   */
  public LinearHistogram(double low, double high, int bins) {
    if (!(low < high) || !Double.isFinite(high - low) || bins < 1) {
      throw new IllegalArgumentException("histogram range [" + low + ", " + high + ") with "
          + bins + " bins");
    }
    this.low = low;
    this.high = high;
    this.counts = new long[bins];
  }

  /** Counts {@code x} (NaN is ignored). */
  public void add(double x) {
    if (Double.isNaN(x)) {
      return;
    }
    min = Math.min(min, x);
    max = Math.max(max, x);
    if (x < low) {
      below++;
    } else if (x >= high) {
      above++;
    } else {
      int i = (int) ((x - low) / (high - low) * counts.length);
      counts[Math.min(counts.length - 1, i)]++;
    }
  }

  /** Adds {@code other}'s counts (same range and bins). */
  public void merge(LinearHistogram other) {
    if (other.counts.length != counts.length || other.low != low || other.high != high) {
      throw new IllegalArgumentException("merging histograms of different bins");
    }
    for (int i = 0; i < counts.length; i++) {
      counts[i] += other.counts[i];
    }
    below += other.below;
    above += other.above;
    min = Math.min(min, other.min);
    max = Math.max(max, other.max);
  }

  public double low() {
    return low;
  }

  public double high() {
    return high;
  }

  /** The counts per bin (a copy). */
  public long[] counts() {
    return counts.clone();
  }

  /** The lower edge of bin {@code i}. */
  public double edge(int i) {
    return low + (high - low) * i / counts.length;
  }

  public long below() {
    return below;
  }

  public long above() {
    return above;
  }

  /** The smallest value counted (+Infinity if none). */
  public double min() {
    return min;
  }

  /** The largest value counted (-Infinity if none). */
  public double max() {
    return max;
  }

  /** All values counted. */
  public long total() {
    long n = below + above;
    for (long c : counts) {
      n += c;
    }
    return n;
  }
}
