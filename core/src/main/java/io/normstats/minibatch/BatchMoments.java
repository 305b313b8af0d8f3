package io.normstats.minibatch;

import io.normstats.exact.Simd;

/**
 * The moments of one minibatch, per feature: {@code delta = mu_B - mu} (the batch mean's offset from
 * the exact dataset mean {@code mu}) and the biased batch variance {@code sigma2_B} (divided by the
 * batch size m, as BatchNorm normalizes with); the unbiased {@code s2_B} is
 * {@code sigma2_B * m / (m - 1)}.
 *
 * <p>Accuracy, about 2 ulp relative in practice and far inside 1e-13: each {@code x - mu} is split
 * exactly into a double and its rounding error (Knuth's TwoSum) and both are summed with compensated
 * summation (Ogita, Rump and Oishi's Sum2, "Accurate sum and dot product", SISC 2005), so the batch
 * mean is as good as a sum in twice the working precision; the variance is the corrected two-pass
 * formula around the batch mean (Chan, Golub and LeVeque 1983), {@code (S - C^2/m) / m} with
 * {@code S = sum (x - mu_B)^2} and {@code C = sum (x - mu_B)}, again with compensated sums and
 * squares split exactly by {@link Math#fma}. A batch whose values of a feature are all equal has
 * variance exactly 0. The results depend only on the rows and their order, not on any rounding
 * mode or thread.
 *
 * <p>Eight or four features at a time (512- or 256-bit vectors, {@link Simd#bits()}) go through a
 * SIMD kernel ({@link BatchMomentsVector}) when the JVM has the Vector API ({@link Simd}); it
 * performs each value's operations in the same order and gives bit-identical results. Minima and maxima (for the constant-batch test) follow
 * {@link Math#min}: a NaN makes the batch's moments NaN.
 *
 * <p>Instances hold scratch arrays of the feature count and are not thread-safe; computing allocates
 * nothing.
 */
public final class BatchMoments {
  /**
   * The largest batch {@link #computeUnsignedBytes} takes: its sums times m stay below 2^53
   * ({@code m^2 * 255^2 < 2^53}), so every product in its formulas is exact.
   */
  public static final int MAX_UNSIGNED_BYTE_BATCH = 1 << 18;

  private final int features;
  private final double[] sum;
  private final double[] comp;
  private final double[] sum2;
  private final double[] comp2;
  private final double[] min;
  private final double[] max;
  private final double[] batchMean;
  private final boolean simd;
  private final Scratch scratch;

  /** Per-feature running sums and results of one batch (the arrays of a {@link BatchMoments}). */
  record Scratch(double[] sum, double[] comp, double[] sum2, double[] comp2, double[] min,
      double[] max, double[] mean) {}

  /** Scratch space for batches of {@code features} features. */
  public BatchMoments(int features) {
    this(features, Simd.available());
  }

  /**
   * Scratch space for batches of {@code features} features, with the SIMD kernel
   * ({@link BatchMomentsVector}, when {@code simd} and {@link Simd#available()}) or value by value;
   * the two give bit-identical results.
   */
  BatchMoments(int features, boolean simd) {
    this.features = features;
    this.simd = simd && Simd.available();
    sum = new double[features];
    comp = new double[features];
    sum2 = new double[features];
    comp2 = new double[features];
    min = new double[features];
    max = new double[features];
    batchMean = new double[features];
    scratch = new Scratch(sum, comp, sum2, comp2, min, max, batchMean);
  }

  /**
   * Computes the moments of the batch in {@code rows}.
   *
   * @param rows the batch, row-major: row {@code i}, feature {@code j} at {@code i * F + j}
   * @param count the batch size m, at least 1
   * @param mu the exact dataset mean per feature (length F), the centre the offsets are taken from
   * @param delta receives {@code mu_B - mu} per feature (length F)
   * @param variance receives the biased {@code sigma2_B} per feature (length F)
   */
  public void compute(double[] rows, int count, double[] mu, double[] delta, double[] variance) {
    compute(rows, 0, count, mu, delta, variance);
  }

  /**
   * Like {@link #compute(double[], int, double[], double[], double[])} for the batch starting at
   * {@code rows[offset]}; with one feature, the moments of {@code rows[offset .. offset+count)}.
   */
  public void compute(double[] rows, int offset, int count, double[] mu, double[] delta,
      double[] variance) {
    int vectorEnd = simd ? features - features % BatchMomentsVector.LANES : 0;
    if (vectorEnd > 0) {
      BatchMomentsVector.compute(rows, offset, count, features, vectorEnd, mu, delta, variance,
          scratch);
    }
    if (vectorEnd < features) {
      computeValues(rows, offset, count, vectorEnd, mu, delta, variance);
    }
  }

  /**
   * Whether {@code x} is an integer in [0, 255] other than -0.0: an 8-bit value, whose batch sums
   * {@link #computeUnsignedBytes} keeps exact.
   */
  public static boolean isUnsignedByte(double x) {
    int b = (int) x;
    return b == x && (b & ~0xFF) == 0 && Double.doubleToRawLongBits(x) != Long.MIN_VALUE;
  }

  /**
   * Like {@link #compute(double[], int, int, double[], double[], double[])} for a batch whose
   * values are all 8-bit ({@link #isUnsignedByte}, as image pixels are), in one pass instead of
   * two: the sums {@code S1 = sum x} and {@code S2 = sum x^2} of such values are integers below
   * 2^53 and so exact in plain doubles in any order, and from them
   * <ul>
   *   <li>{@code sigma2_B = (m S2 - S1^2) / m^2}, the numerator an exact integer: correctly rounded
   *       (one division), exactly 0 for a constant batch;</li>
   *   <li>{@code mu_B - mu = (S1 - m mu) / m}, with {@code m mu} split exactly by {@link Math#fma},
   *       {@code S1 - m mu} by TwoSum, and the division's remainder taken exactly by
   *       {@link Math#fma}: within an ulp (half an ulp but for the small parts' rounding).</li>
   * </ul>
   * Both are as accurate as or more accurate than the general formulas, not bit-identical to them.
   * A value that is not 8-bit gives wrong moments (the caller knows its rows: the minibatch pass
   * packs 8-bit rows in one byte per value). About 0.3 ns per value here against 2 to 3 for the
   * general kernel.
   *
   * @param count the batch size m, 1 to {@link #MAX_UNSIGNED_BYTE_BATCH}
   * @throws IllegalArgumentException if {@code count} is out of that range
   */
  public void computeUnsignedBytes(double[] rows, int offset, int count, double[] mu,
      double[] delta, double[] variance) {
    if (count < 1 || count > MAX_UNSIGNED_BYTE_BATCH) {
      throw new IllegalArgumentException("batch size " + count + " outside [1, "
          + MAX_UNSIGNED_BYTE_BATCH + "]");
    }
    int f = features;
    int vectorEnd = simd ? f - f % BatchMomentsVector.LANES : 0;
    java.util.Arrays.fill(sum, 0.0);
    java.util.Arrays.fill(sum2, 0.0);
    if (vectorEnd > 0) {
      BatchMomentsVector.sums(rows, offset, count, f, vectorEnd, sum, sum2);
    }
    if (vectorEnd < f) {
      for (int i = 0, base = offset; i < count; i++, base += f) {
        for (int j = vectorEnd; j < f; j++) {
          double x = rows[base + j];
          sum[j] += x;
          sum2[j] += x * x;
        }
      }
    }
    double m = count;
    double mm = m * m;
    for (int j = 0; j < f; j++) {
      double s1 = sum[j];
      variance[j] = (m * sum2[j] - s1 * s1) / mm;
      double p = m * mu[j];
      double pe = Math.fma(m, mu[j], -p); // p + pe == m * mu exactly
      double r = s1 - p; // TwoSum(s1, -p): r + re == s1 - p exactly
      double z = r - s1;
      double re = (s1 - (r - z)) + (-p - z);
      double q = r / m; // then the exact remainder r - q m, and the small parts, corrected
      delta[j] = q + (Math.fma(-q, m, r) + (re - pe)) / m;
    }
  }

  /** The value-by-value code, for features {@code [from, F)}; the SIMD kernel's reference. */
  private void computeValues(double[] rows, int offset, int count, int from, double[] mu,
      double[] delta, double[] variance) {
    int f = features;
    for (int j = from; j < f; j++) {
      double x = rows[offset + j];
      min[j] = x;
      max[j] = x;
      sum[j] = 0;
      comp[j] = 0;
    }
    for (int i = 0, base = offset; i < count; i++, base += f) {
      for (int j = from; j < f; j++) {
        double x = rows[base + j];
        min[j] = Math.min(min[j], x);
        max[j] = Math.max(max[j], x);
        double m = -mu[j];
        double d = x + m; // TwoSum(x, -mu): d + e == x - mu exactly
        double z = d - x;
        double e = (x - (d - z)) + (m - z);
        double s = sum[j];
        double t = s + d; // TwoSum(s, d)
        double w = t - s;
        comp[j] += ((s - (t - w)) + (d - w)) + e;
        sum[j] = t;
      }
    }
    for (int j = from; j < f; j++) {
      if (min[j] == max[j]) {
        batchMean[j] = min[j];
        delta[j] = min[j] - mu[j];
      } else {
        double d = (sum[j] + comp[j]) / count;
        delta[j] = d;
        batchMean[j] = mu[j] + d;
      }
      sum[j] = 0;
      comp[j] = 0;
      sum2[j] = 0;
      comp2[j] = 0;
    }
    for (int i = 0, base = offset; i < count; i++, base += f) {
      for (int j = from; j < f; j++) {
        double e = rows[base + j] - batchMean[j];
        double s = sum[j];
        double t = s + e;
        double w = t - s;
        comp[j] += (s - (t - w)) + (e - w);
        sum[j] = t;
        double p = e * e;
        double pe = Math.fma(e, e, -p);
        double s2 = sum2[j];
        double t2 = s2 + p;
        double w2 = t2 - s2;
        comp2[j] += ((s2 - (t2 - w2)) + (p - w2)) + pe;
        sum2[j] = t2;
      }
    }
    for (int j = from; j < f; j++) {
      if (min[j] == max[j]) {
        variance[j] = 0;
      } else {
        double c = sum[j] + comp[j];
        double s = sum2[j] + comp2[j];
        variance[j] = Math.max(0, (s - c * c / count) / count);
      }
    }
  }
}
