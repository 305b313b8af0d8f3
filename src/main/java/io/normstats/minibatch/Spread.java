package io.normstats.minibatch;

import java.util.Arrays;

/**
 * How a quantity spreads over features: its median, 90th percentile and maximum over the features
 * where it is defined (NaN values are left out and counted as undefined). Percentiles interpolate
 * linearly between order statistics (Hyndman and Fan's type 7, the default of numpy and R); an
 * interpolation between a finite value and +Infinity is +Infinity. (commons-math3's type 7 returns
 * NaN there, which is why this is not delegated.)
 *
 * @param median the 50th percentile, NaN if no value is defined
 * @param p90 the 90th percentile, NaN if no value is defined
 * @param max the largest value, NaN if no value is defined
 * @param defined how many values are defined (not NaN)
 */
public record Spread(double median, double p90, double max, int defined) {

  /** The spread of {@code values}, ignoring NaNs. */
  public static Spread of(double[] values) {
    double[] defined = new double[values.length];
    int n = 0;
    for (double v : values) {
      if (!Double.isNaN(v)) {
        defined[n++] = v;
      }
    }
    double[] sorted = n == values.length ? defined : Arrays.copyOf(defined, n);
    Arrays.sort(sorted);
    if (sorted.length == 0) {
      return new Spread(Double.NaN, Double.NaN, Double.NaN, 0);
    }
    return new Spread(percentile(sorted, 0.5), percentile(sorted, 0.9), sorted[sorted.length - 1],
        sorted.length);
  }

  /** Type-7 percentile {@code p} in [0, 1] of ascending, NaN-free {@code sorted}. */
  static double percentile(double[] sorted, double p) {
    double h = (sorted.length - 1) * p;
    int lo = (int) Math.floor(h);
    double frac = h - lo;
    if (frac == 0 || lo + 1 >= sorted.length) {
      return sorted[lo];
    }
    double a = sorted[lo];
    double b = sorted[lo + 1];
    return a == b ? a : a + frac * (b - a);
  }
}
