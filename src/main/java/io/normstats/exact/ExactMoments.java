package io.normstats.exact;

import java.math.BigInteger;

/**
 * The exact first and second moments of one feature, before any rounding: {@code n} values with
 * exact sums {@code S1 = sum x} and {@code S2 = sum x^2}, from {@link MomentAccumulator#exact(int)}.
 * Each statistic is rounded once from the exact rational, to double ({@link FeatureMoments}) or to
 * float ({@link #meanToFloat()}, {@link #varPopToFloat()}, {@link #varSampToFloat()}), for tensors
 * stored in float32 such as an ONNX BatchNormalization's {@code input_mean} and {@code input_var}.
 *
 * <p>mean = S1 / n; var_pop = (n S2 - S1^2) / n^2; var_samp = (n S2 - S1^2) / (n (n-1)). All
 * roundings are to nearest, ties to even ({@link CorrectRounding}).
 */
public final class ExactMoments {
  private final long count;
  private final BigInteger sum;
  private final int sumExponent;
  /** n S2 - S1^2 in units of 2^squaresExponent. */
  private final BigInteger numerator;
  private final int squaresExponent;

  /**
   * @param count n, the number of values
   * @param sum S1 in units of {@code 2^sumExponent}
   * @param sumOfSquares S2 in units of {@code 2^squaresExponent}, with
   *     {@code 2 * sumExponent >= squaresExponent}
   */
  ExactMoments(long count, BigInteger sum, int sumExponent, BigInteger sumOfSquares,
      int squaresExponent) {
    this.count = count;
    this.sum = sum;
    this.sumExponent = sumExponent;
    this.squaresExponent = squaresExponent;
    BigInteger n = BigInteger.valueOf(count);
    this.numerator = n.multiply(sumOfSquares)
        .subtract(sum.multiply(sum).shiftLeft(2 * sumExponent - squaresExponent));
    if (numerator.signum() < 0) {
      throw new AssertionError("negative exact variance numerator");
    }
  }

  /** n, the number of values the moments are over. */
  public long count() {
    return count;
  }

  /** The double nearest to the mean; NaN when there are no values. */
  public double mean() {
    return count == 0 ? Double.NaN : CorrectRounding.divide(sum, n(), sumExponent);
  }

  /** The double nearest to the population variance (/n); NaN when there are no values. */
  public double varPop() {
    return count == 0 ? Double.NaN : CorrectRounding.divide(numerator, n2(), squaresExponent);
  }

  /** The double nearest to the sample variance (/(n-1)); NaN for fewer than two values. */
  public double varSamp() {
    return count < 2 ? Double.NaN : CorrectRounding.divide(numerator, nn1(), squaresExponent);
  }

  /** The double nearest to the square root of the population variance; NaN without values. */
  public double stdPop() {
    return count == 0 ? Double.NaN : CorrectRounding.sqrt(numerator, n2(), squaresExponent);
  }

  /** The double nearest to the square root of the sample variance; NaN for fewer than two. */
  public double stdSamp() {
    return count < 2 ? Double.NaN : CorrectRounding.sqrt(numerator, nn1(), squaresExponent);
  }

  /** The float nearest to the mean (not the double mean rounded again); NaN without values. */
  public float meanToFloat() {
    return count == 0 ? Float.NaN : CorrectRounding.divideToFloat(sum, n(), sumExponent);
  }

  /** The float nearest to the population variance; NaN without values. */
  public float varPopToFloat() {
    return count == 0 ? Float.NaN
        : CorrectRounding.divideToFloat(numerator, n2(), squaresExponent);
  }

  /** The float nearest to the sample variance; NaN for fewer than two values. */
  public float varSampToFloat() {
    return count < 2 ? Float.NaN
        : CorrectRounding.divideToFloat(numerator, nn1(), squaresExponent);
  }

  private BigInteger n() {
    return BigInteger.valueOf(count);
  }

  private BigInteger n2() {
    return n().multiply(n());
  }

  private BigInteger nn1() {
    return n().multiply(BigInteger.valueOf(count - 1));
  }
}
