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
  /** S1 in units of 2^sumExponent, odd (or zero). */
  private final BigInteger sum;
  private final int sumExponent;
  /** n S2 - S1^2 in units of 2^numeratorExponent, odd (or zero). */
  private final BigInteger numerator;
  private final int numeratorExponent;
  /** d: the moments are those of the values divided by d (1 but for {@link #dividedBy}). */
  private final BigInteger divisor;

  /**
   * The sums are reduced to odd integers first: an accumulator's sums are in units of 2^-1074
   * (values) and 2^-2274 (squares), so the sums of ordinary data end in over two thousand zero
   * bits, and n S2 - S1^2 and the roundings would otherwise work on numbers of thousands of bits.
   *
   * @param count n, the number of values
   * @param sum S1 in units of {@code 2^sumExponent}
   * @param sumOfSquares S2 in units of {@code 2^squaresExponent}
   * @throws AssertionError if n S2 < S1^2 (no sums of n values and their squares)
   */
  ExactMoments(long count, BigInteger sum, int sumExponent, BigInteger sumOfSquares,
      int squaresExponent) {
    this.count = count;
    int sumZeros = trailingZeros(sum);
    this.sum = sum.shiftRight(sumZeros);
    this.sumExponent = sumExponent + sumZeros;
    int squaresZeros = trailingZeros(sumOfSquares);
    BigInteger s2 = sumOfSquares.shiftRight(squaresZeros);
    int e2 = squaresExponent + squaresZeros;
    int e = Math.min(e2, 2 * this.sumExponent); // the finer grid of n S2 and S1^2
    BigInteger numerator = BigInteger.valueOf(count).multiply(s2).shiftLeft(e2 - e)
        .subtract(this.sum.multiply(this.sum).shiftLeft(2 * this.sumExponent - e));
    if (numerator.signum() < 0) {
      throw new AssertionError("negative exact variance numerator");
    }
    int numeratorZeros = trailingZeros(numerator);
    this.numerator = numerator.shiftRight(numeratorZeros);
    this.numeratorExponent = e + numeratorZeros;
    this.divisor = BigInteger.ONE;
  }

  private ExactMoments(ExactMoments m, BigInteger divisor) {
    this.count = m.count;
    this.sum = m.sum;
    this.sumExponent = m.sumExponent;
    this.numerator = m.numerator;
    this.numeratorExponent = m.numeratorExponent;
    this.divisor = divisor;
  }

  /**
   * The exact moments of the values divided by {@code d}: mean S1 / (n d), variances over d^2, each
   * still rounded once from the exact rational. Pixel levels become ToTensor's [0, 1] values so:
   * level / 255 (or / 65535) exactly, not level times a rounded 1/255.
   *
   * @throws IllegalArgumentException if {@code d < 1}
   */
  public ExactMoments dividedBy(long d) {
    if (d < 1) {
      throw new IllegalArgumentException("divisor must be >= 1: " + d);
    }
    return new ExactMoments(this, divisor.multiply(BigInteger.valueOf(d)));
  }

  private static int trailingZeros(BigInteger x) {
    return x.signum() == 0 ? 0 : x.getLowestSetBit();
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
    return count == 0 ? Double.NaN : CorrectRounding.divide(numerator, n2(), numeratorExponent);
  }

  /** The double nearest to the sample variance (/(n-1)); NaN for fewer than two values. */
  public double varSamp() {
    return count < 2 ? Double.NaN : CorrectRounding.divide(numerator, nn1(), numeratorExponent);
  }

  /** The double nearest to the square root of the population variance; NaN without values. */
  public double stdPop() {
    return count == 0 ? Double.NaN : CorrectRounding.sqrt(numerator, n2(), numeratorExponent);
  }

  /** The double nearest to the square root of the sample variance; NaN for fewer than two. */
  public double stdSamp() {
    return count < 2 ? Double.NaN : CorrectRounding.sqrt(numerator, nn1(), numeratorExponent);
  }

  /** The float nearest to the mean (not the double mean rounded again); NaN without values. */
  public float meanToFloat() {
    return count == 0 ? Float.NaN : CorrectRounding.divideToFloat(sum, n(), sumExponent);
  }

  /** The float nearest to the population variance; NaN without values. */
  public float varPopToFloat() {
    return count == 0 ? Float.NaN
        : CorrectRounding.divideToFloat(numerator, n2(), numeratorExponent);
  }

  /** The float nearest to the sample variance; NaN for fewer than two values. */
  public float varSampToFloat() {
    return count < 2 ? Float.NaN
        : CorrectRounding.divideToFloat(numerator, nn1(), numeratorExponent);
  }

  /** The number of {@code format} nearest to the mean; NaN without values. */
  public double mean(FloatFormat format) {
    return count == 0 ? Double.NaN : CorrectRounding.divideTo(sum, n(), sumExponent, format);
  }

  /** The number of {@code format} nearest to the population variance; NaN without values. */
  public double varPop(FloatFormat format) {
    return count == 0 ? Double.NaN
        : CorrectRounding.divideTo(numerator, n2(), numeratorExponent, format);
  }

  /** The number of {@code format} nearest to the sample variance; NaN for fewer than two. */
  public double varSamp(FloatFormat format) {
    return count < 2 ? Double.NaN
        : CorrectRounding.divideTo(numerator, nn1(), numeratorExponent, format);
  }

  /** The mean's denominator: n d. */
  private BigInteger n() {
    return BigInteger.valueOf(count).multiply(divisor);
  }

  /** The population variance's: n^2 d^2. */
  private BigInteger n2() {
    return n().multiply(n());
  }

  /** The sample variance's: n (n-1) d^2. */
  private BigInteger nn1() {
    return BigInteger.valueOf(count).multiply(BigInteger.valueOf(count - 1))
        .multiply(divisor).multiply(divisor);
  }
}
