package io.normstats.norm;

/**
 * BatchNorm in prediction (eval) mode with given statistics, as PyTorch {@code BatchNorm1d/2d} in
 * {@code eval()} computes it (ATen {@code batch_norm_cpu}):
 * {@code y = (x - mean) * invstd * weight + bias} with {@code invstd = 1 / sqrt(variance + eps)},
 * per channel.
 *
 * <p>Layout: a vector of length {@code L = C * S} in channel-major order, where channel c holds the
 * S elements {@code c*S .. c*S + S - 1} (for images C x H x W, {@code S = H*W}); with {@code C = L}
 * every element is its own channel (BatchNorm1d on features). The statistics, weight (gamma) and
 * bias (beta) have one value per channel. A channel with {@code variance + eps == 0} (a constant
 * feature with epsilon 0) outputs its bias, not NaN.
 */
public final class BatchNormalization extends VectorNormalization {
  private static final long serialVersionUID = 1L;

  private final int length;
  private final int perChannel;
  private final double[] mean;
  private final double[] invstd;
  private final double[] weight;
  private final double[] bias;

  /**
   * @param length the vector length L, a multiple of the number of channels
   * @param mean the mean per channel (length C)
   * @param variance the variance per channel (length C), at least 0
   * @param epsilon added to the variance, at least 0
   * @param weight gamma per channel, or null for ones
   * @param bias beta per channel, or null for zeros
   * @throws IllegalArgumentException if the lengths do not fit, or a variance or epsilon is negative
   *     or NaN
   */
  public BatchNormalization(int length, double[] mean, double[] variance, double epsilon,
      double[] weight, double[] bias) {
    int channels = mean.length;
    if (channels == 0 || length % channels != 0 || variance.length != channels) {
      throw new IllegalArgumentException("statistics of " + channels + " and " + variance.length
          + " channels do not fit vectors of length " + length);
    }
    if (!(epsilon >= 0)) {
      throw new IllegalArgumentException("epsilon must be >= 0: " + epsilon);
    }
    this.length = length;
    this.perChannel = length / channels;
    this.mean = mean.clone();
    this.invstd = new double[channels];
    for (int c = 0; c < channels; c++) {
      if (!(variance[c] >= 0)) {
        throw new IllegalArgumentException("variance of channel " + c + " is " + variance[c]);
      }
      double v = variance[c] + epsilon;
      invstd[c] = v == 0 ? 0 : 1 / Math.sqrt(v);
    }
    this.weight = checked(weight, channels, "weight");
    this.bias = checked(bias, channels, "bias");
  }

  @Override
  public int length() {
    return length;
  }

  /** The number of channels C. */
  public int channels() {
    return mean.length;
  }

  @Override
  public Applier applier() {
    return this::apply;
  }

  private void apply(double[] x, double[] y) {
    for (int c = 0, k = 0; c < mean.length; c++) {
      double mu = mean[c];
      double s = invstd[c];
      double w = weight == null ? 1 : weight[c];
      double b = bias == null ? 0 : bias[c];
      for (int end = k + perChannel; k < end; k++) {
        y[k] = (x[k] - mu) * s * w + b;
      }
    }
  }
}
