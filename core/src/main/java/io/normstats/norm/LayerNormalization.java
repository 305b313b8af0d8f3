package io.normstats.norm;

import io.normstats.minibatch.BatchMoments;

/**
 * LayerNorm and GroupNorm of one row, as PyTorch's {@code LayerNorm} over the last dimension and
 * {@code GroupNorm} compute them: each group's mean and biased variance (/n) over its elements, then
 * {@code y = (x - mean) * rstd * weight + bias} with {@code rstd = 1 / sqrt(var + eps)}.
 *
 * <p>Layout: a vector of length {@code L = C * S} of C channels in channel-major order (S elements
 * each); G groups of {@code C/G} consecutive channels, i.e. {@code L/G} consecutive elements
 * ({@code G = 1}: LayerNorm over the whole vector). Weight (gamma) and bias (beta) have one value
 * per channel; with {@code C = L} they are elementwise, as LayerNorm's {@code elementwise_affine}.
 * A group's statistics are computed to about 2 ulp (compensated two-pass, {@link BatchMoments}),
 * and a group with {@code var + eps == 0} (constant, epsilon 0) outputs the bias. A group with
 * values beyond 2^480 in magnitude, whose variance could overflow double, is computed scaled by a
 * power of two (epsilon scaled with it), so it normalizes as it would in exact arithmetic rather
 * than to zeros or NaN.
 */
public final class LayerNormalization extends VectorNormalization {
  private static final long serialVersionUID = 1L;

  private final int length;
  private final int groups;
  private final int channels;
  private final double epsilon;
  private final double[] weight;
  private final double[] bias;

  /**
   * @param length the vector length L
   * @param groups the number of groups G (1 for LayerNorm), dividing C
   * @param channels the number of channels C, dividing L (L for elementwise affine parameters)
   * @param epsilon added to each group's variance, at least 0
   * @param weight gamma per channel (length C), or null for ones
   * @param bias beta per channel (length C), or null for zeros
   * @throws IllegalArgumentException if the sizes do not divide, or epsilon is negative
   */
  public LayerNormalization(int length, int groups, int channels, double epsilon,
      double[] weight, double[] bias) {
    if (length < 1 || channels < 1 || groups < 1 || length % channels != 0
        || channels % groups != 0) {
      throw new IllegalArgumentException(groups + " groups of " + channels
          + " channels do not divide vectors of length " + length);
    }
    if (!(epsilon >= 0)) {
      throw new IllegalArgumentException("epsilon must be >= 0: " + epsilon);
    }
    this.length = length;
    this.groups = groups;
    this.channels = channels;
    this.epsilon = epsilon;
    this.weight = checked(weight, channels, "weight");
    this.bias = checked(bias, channels, "bias");
  }

  @Override
  public int length() {
    return length;
  }

  @Override
  public Applier applier() {
    BatchMoments moments = new BatchMoments(1);
    double[] zero = new double[1];
    double[] mean = new double[1];
    double[] var = new double[1];
    int groupLength = length / groups;
    int perChannel = length / channels;
    double[] scaled = new double[groupLength];
    return (x, y) -> {
      for (int g = 0; g < groups; g++) {
        int from = g * groupLength;
        // Values beyond 2^480 would overflow the variance: the group is scaled by a power of two
        // (exactly) and epsilon with it, which changes nothing else: y is scale-invariant.
        double scale = rangeScale(x, from, groupLength);
        double[] in = x;
        int start = from;
        if (scale != 1) {
          for (int k = 0; k < groupLength; k++) {
            scaled[k] = x[from + k] * scale;
          }
          in = scaled;
          start = 0;
        }
        moments.compute(in, start, groupLength, zero, mean, var);
        double v = var[0] + epsilon * scale * scale;
        double rstd = v == 0 ? 0 : 1 / Math.sqrt(v);
        double mu = mean[0];
        for (int k = from; k < from + groupLength; k++) {
          int c = k / perChannel;
          double w = weight == null ? 1 : weight[c];
          double b = bias == null ? 0 : bias[c];
          y[k] = (in[start + k - from] - mu) * rstd * w + b;
        }
      }
    };
  }
}
