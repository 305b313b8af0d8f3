package io.normstats.minibatch;

import java.util.ArrayList;
import java.util.List;

/**
 * How far one estimate of every channel's mean and variance (a BatchNorm layer's stored running
 * statistics, or an approximate recomputation) is from the exact values: per channel the
 * {@link FeatureErrors}, and over the channels the {@link Spread} of the three that matter to
 * prediction-mode BatchNorm: {@code |mean - mu| / sigma}, {@code |var - sigma^2| / sigma^2} and
 * {@code KL(N(mu, sigma^2 + eps) || N(mean, var + eps))} in nats.
 *
 * @param channels the errors of each channel, {@code [C]}
 * @param meanErrInStd the spread over channels of {@code |mean - mu| / sigma}
 * @param varRelErr the spread of {@code |var - sigma^2| / sigma^2}
 * @param kl the spread of the KL divergence
 */
public record EstimateErrors(List<FeatureErrors> channels, Spread meanErrInStd, Spread varRelErr,
    Spread kl) {

  /**
   * The errors of an estimate.
   *
   * @param names the channels' names, {@code [C]}
   * @param exactMean the exact mean per channel, {@code [C]}
   * @param exactVar the exact variance per channel (in the variance mode compared), {@code [C]}
   * @param mean the estimated mean, {@code [C]}
   * @param var the estimated variance, {@code [C]}
   * @param epsilon the layer's epsilon
   * @throws IllegalArgumentException if the lengths differ
   */
  public static EstimateErrors of(List<String> names, double[] exactMean, double[] exactVar,
      double[] mean, double[] var, double epsilon) {
    int c = exactMean.length;
    if (names.size() != c || exactVar.length != c || mean.length != c || var.length != c) {
      throw new IllegalArgumentException("estimate and exact values of different lengths");
    }
    DatasetMoments exact = new DatasetMoments(exactMean, exactVar, epsilon);
    List<FeatureErrors> channels = new ArrayList<>(c);
    double[] m = new double[c];
    double[] v = new double[c];
    double[] kl = new double[c];
    for (int j = 0; j < c; j++) {
      FeatureErrors e = FeatureErrors.of(names.get(j), j, exact, mean[j] - exactMean[j],
          var[j] - exactVar[j]);
      channels.add(e);
      m[j] = e.meanErrInStd();
      v[j] = e.varRelErr();
      kl[j] = e.kl();
    }
    return new EstimateErrors(List.copyOf(channels), Spread.of(m), Spread.of(v), Spread.of(kl));
  }
}
