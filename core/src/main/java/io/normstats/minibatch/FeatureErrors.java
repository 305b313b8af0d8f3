package io.normstats.minibatch;

/**
 * How far one estimate of one feature's mean and variance is from the exact values, and what it does
 * to prediction-mode BatchNorm. Undefined values (a relative error of a zero exact value, a ratio to
 * a zero variance, anything with epsilon = 0 and a zero variance) are NaN.
 *
 * <p>For {@link Estimator#BATCH}, whose estimate is a different (mu_B, sigma2_B) for every batch,
 * {@code mean} and {@code var} are the means over batches, the absolute and relative errors and
 * {@code meanErrInStd} are root mean squares over batches of each batch's error, {@code varRatio},
 * {@code kl} and {@code outputVar} are means over batches, and {@code outputMean} is the root mean
 * square over batches.
 *
 * @param name the feature's name
 * @param index the feature's position
 * @param mean the estimated mean
 * @param var the estimated variance
 * @param exactMean the exact mean mu
 * @param exactVar the exact var_pop sigma^2
 * @param meanAbsErr {@code |mean - mu|}
 * @param meanRelErr {@code |mean - mu| / |mu|}
 * @param meanErrInStd {@code |mean - mu| / sqrt(sigma^2)}: the error in units of the exact standard
 *     deviation
 * @param varAbsErr {@code |var - sigma^2|}
 * @param varRelErr {@code |var - sigma^2| / sigma^2}
 * @param varRatio {@code var / sigma^2}
 * @param kl {@code KL(N(mu, sigma^2 + eps) || N(mean, var + eps))} in nats: the divergence of the
 *     Gaussian the estimate normalizes for from the true one, with BatchNorm's epsilon in both
 * @param outputMean the mean of prediction-mode BatchNorm's output over the whole dataset when it
 *     normalizes with the estimate: {@code (mu - mean) / sqrt(var + eps)} (0 is ideal)
 * @param outputVar the variance of that output: {@code sigma^2 / (var + eps)} (the ideal is
 *     {@code sigma^2 / (sigma^2 + eps)}, about 1)
 */
public record FeatureErrors(String name, int index, double mean, double var, double exactMean,
    double exactVar, double meanAbsErr, double meanRelErr, double meanErrInStd, double varAbsErr,
    double varRelErr, double varRatio, double kl, double outputMean, double outputVar) {

  /**
   * The errors of the estimate {@code (mu + meanError, sigma^2 + varError)} of feature {@code j}.
   * The errors are passed as differences so that they keep their accuracy when the mean is large
   * against the spread.
   */
  public static FeatureErrors of(String name, int j, DatasetMoments exact, double meanError,
      double varError) {
    double mu = exact.mean(j);
    double v = exact.variance(j);
    double eps = exact.epsilon();
    double estVar = v + varError;
    double absMean = Math.abs(meanError);
    double absVar = Math.abs(varError);
    return new FeatureErrors(name, j, mu + meanError, estVar, mu, v, absMean,
        ratio(absMean, Math.abs(mu)), ratio(absMean, Math.sqrt(v)), absVar, ratio(absVar, v),
        ratio(estVar, v), kl(meanError, varError, v + eps, estVar + eps),
        -meanError / Math.sqrt(estVar + eps), v / (estVar + eps));
  }

  /** {@code a / b}, NaN when b is 0. */
  static double ratio(double a, double b) {
    return b == 0 ? Double.NaN : a / b;
  }

  /**
   * {@code KL(N(mu, p) || N(mu + meanError, q))} with {@code q = p + varError}:
   * {@code (log(q/p) + p/q - 1 + meanError^2/q) / 2}. The first three terms are evaluated as
   * {@code g(h) = log1p(h) - h/(1+h)} with {@code h = varError/p} ({@link #log1p}), by its Taylor
   * series for small h,
   * so that a variance estimate close to the truth gets an accurate small divergence instead of
   * rounding noise.
   */
  static double kl(double meanError, double varError, double p, double q) {
    if (!(p > 0)) {
      return Double.NaN;
    }
    if (q == 0) {
      return Double.POSITIVE_INFINITY;
    }
    double h = varError / p;
    double g;
    if (Math.abs(h) < 1e-2) {
      // sum_{k>=2} (-1)^k (k-1)/k h^k, to h^9: truncation below 1e-14 relative
      double s = 0;
      for (int k = 9; k >= 2; k--) {
        s = s * h + ((k & 1) == 0 ? 1.0 : -1.0) * (k - 1) / k;
      }
      g = s * h * h;
    } else {
      g = log1p(h) - h / (1 + h);
    }
    return 0.5 * (g + meanError * meanError / q);
  }

  /**
   * {@code log(1 + h)} to a few ulp from {@link Math#log} (a compiler intrinsic), by
   * {@code log(u) * h / (u - 1)} with {@code u = 1 + h}, which cancels the rounding of u (Goldberg,
   * "What every computer scientist should know about floating-point arithmetic", 1991, Theorem 4).
   * {@link Math#log1p} calls native fdlibm code on Java 17, which cost more than the rest of an
   * estimator update.
   */
  static double log1p(double h) {
    double u = 1 + h;
    if (u == 1 || u == Double.POSITIVE_INFINITY) {
      return u == 1 ? h : u;
    }
    return Math.log(u) * (h / (u - 1));
  }
}
