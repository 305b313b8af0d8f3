package io.normstats.norm;

/**
 * RMSNorm of one row (Zhang and Sennrich 2019, arXiv:1910.07467), as PyTorch's {@code RMSNorm}
 * computes it: {@code y = x * rsqrt(mean(x^2) + eps) * weight}, with {@code mean(x^2)} over the
 * whole vector summed with compensation (squares split exactly by {@link Math#fma}). A row with
 * {@code mean(x^2) + eps == 0} (all zeros, epsilon 0) outputs zeros, not NaN. A row with values
 * beyond 2^480 in magnitude, whose mean square could overflow double, is computed scaled by a power
 * of two (epsilon scaled with it), so it normalizes as in exact arithmetic rather than to zeros.
 */
public final class RmsNormalization extends VectorNormalization {
  private static final long serialVersionUID = 1L;

  private final int length;
  private final double epsilon;
  private final double[] weight;

  /**
   * @param length the vector length L
   * @param epsilon added to the mean square, at least 0
   * @param weight gamma per element (length L), or null for ones
   * @throws IllegalArgumentException if the weight's length is not L or epsilon is negative
   */
  public RmsNormalization(int length, double epsilon, double[] weight) {
    if (length < 1) {
      throw new IllegalArgumentException("vector length must be at least 1: " + length);
    }
    if (!(epsilon >= 0)) {
      throw new IllegalArgumentException("epsilon must be >= 0: " + epsilon);
    }
    this.length = length;
    this.epsilon = epsilon;
    this.weight = checked(weight, length, "weight");
  }

  @Override
  public int length() {
    return length;
  }

  @Override
  public Applier applier() {
    return (x, y) -> {
      // Values beyond 2^480 would overflow the mean square: scale by a power of two (exactly),
      // epsilon with it; y is scale-invariant otherwise.
      double scale = rangeScale(x, 0, length);
      double s = 0;
      double c = 0;
      for (int k = 0; k < length; k++) {
        double xk = x[k] * scale;
        double p = xk * xk;
        double pe = Math.fma(xk, xk, -p);
        double t = s + p;
        double w = t - s;
        c += ((s - (t - w)) + (p - w)) + pe;
        s = t;
      }
      double ms = (s + c) / length + epsilon * scale * scale;
      double r = ms == 0 ? 0 : 1 / Math.sqrt(ms);
      for (int k = 0; k < length; k++) {
        y[k] = x[k] * scale * r * (weight == null ? 1 : weight[k]);
      }
    };
  }
}
