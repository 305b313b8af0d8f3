package io.normstats.minibatch;

import java.io.Serializable;

/**
 * The exact dataset statistics every estimate is measured against, per feature: the mean mu and the
 * population variance var_pop (what prediction-mode BatchNorm ideally normalizes with; var_samp
 * differs from it by the factor n/(n-1), negligible at dataset scale), with
 * {@code sigma = sqrt(var_pop + epsilon)}, the standard deviation BatchNorm divides by.
 */
public final class DatasetMoments implements Serializable {
  private static final long serialVersionUID = 1L;

  private final double[] mean;
  private final double[] variance;
  private final double[] sigma;
  private final double[] stdDev;
  private final double epsilon;

  /**
   * @param mean the exact mean per feature (length F)
   * @param variance the exact var_pop per feature (length F)
   * @param epsilon BatchNorm's epsilon
   * @throws IllegalArgumentException if the lengths differ
   */
  public DatasetMoments(double[] mean, double[] variance, double epsilon) {
    if (mean.length != variance.length) {
      throw new IllegalArgumentException("mean and variance lengths differ: " + mean.length
          + " and " + variance.length);
    }
    this.mean = mean.clone();
    this.variance = variance.clone();
    this.epsilon = epsilon;
    this.sigma = new double[mean.length];
    this.stdDev = new double[mean.length];
    for (int j = 0; j < mean.length; j++) {
      sigma[j] = Math.sqrt(variance[j] + epsilon);
      stdDev[j] = Math.sqrt(variance[j]);
    }
  }

  /** The number of features F. */
  public int features() {
    return mean.length;
  }

  /** The exact mean of feature {@code j}. */
  public double mean(int j) {
    return mean[j];
  }

  /** The exact var_pop of feature {@code j}. */
  public double variance(int j) {
    return variance[j];
  }

  /** {@code sqrt(var_pop + epsilon)} of feature {@code j}. */
  public double sigma(int j) {
    return sigma[j];
  }

  /** {@code sqrt(var_pop)} of feature {@code j}. */
  public double stdDev(int j) {
    return stdDev[j];
  }

  /** BatchNorm's epsilon. */
  public double epsilon() {
    return epsilon;
  }

  /** The means as an array (the array itself: do not modify). */
  double[] means() {
    return mean;
  }
}
