package io.normstats.exact;

/**
 * The rounded statistics of one feature, as computed by {@link MomentAccumulator#moments(int)}.
 *
 * <p>With {@code n = count} finite values {@code x_1..x_n}, {@code S1 = sum x} and
 * {@code S2 = sum x^2} (both exact):
 * <ul>
 *   <li>{@code mean}: the double nearest to {@code S1 / n};</li>
 *   <li>{@code varPop}: nearest to {@code (n*S2 - S1^2) / n^2}, the population (biased, /n) variance
 *       that BatchNorm normalizes with (PyTorch, Keras, TF Transform, Spark SQL var_pop);</li>
 *   <li>{@code varSamp}: nearest to {@code (n*S2 - S1^2) / (n(n-1))}, the sample (unbiased, /(n-1))
 *       variance (PyTorch's running_var input, Spark SQL var_samp);</li>
 *   <li>{@code stdPop}, {@code stdSamp}: the doubles nearest to the square roots of those exact
 *       variances (not the square roots of the rounded variances).</li>
 * </ul>
 * All roundings are to nearest, ties to even. An undefined value is {@link Double#NaN}: every
 * statistic when {@code count == 0}, and {@code varSamp}/{@code stdSamp} when {@code count == 1}.
 * A variance above {@link Double#MAX_VALUE} (possible only for values near +-1e308) is infinite.
 * The mean of values that sum exactly to zero is {@code +0.0}.
 *
 * @param count the number of finite values the statistics are over (implicit zeros of sparse vectors
 *     included, nulls and NaN/infinite values excluded)
 * @param mean the arithmetic mean
 * @param varPop the population variance, in squared units of the feature
 * @param varSamp the sample variance, in squared units of the feature
 * @param stdPop the population standard deviation, in units of the feature
 * @param stdSamp the sample standard deviation, in units of the feature
 * @param min the smallest value ({@code -0.0 < +0.0}), NaN when count is 0
 * @param max the largest value, NaN when count is 0
 * @param nullCount the number of missing values
 * @param nanCount the number of NaN and infinite values
 */
public record FeatureMoments(
    long count,
    double mean,
    double varPop,
    double varSamp,
    double stdPop,
    double stdSamp,
    double min,
    double max,
    long nullCount,
    long nanCount) {

  /** The number of invalid values: {@code nullCount + nanCount}. */
  public long invalidCount() {
    return nullCount + nanCount;
  }
}
