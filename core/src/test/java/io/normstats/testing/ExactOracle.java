package io.normstats.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.normstats.exact.FeatureMoments;
import java.math.BigDecimal;
import java.math.BigInteger;

/**
 * An independent reference for exact statistics: BigDecimal sums, and a correct-rounding check that
 * compares the exact rational with the midpoints between the result and its neighbouring doubles.
 * It shares no code with io.normstats.exact.
 */
public final class ExactOracle {
  private static final BigDecimal TWO = BigDecimal.valueOf(2);

  private ExactOracle() {}

  /** Exact statistics of finite values: n, sum x, sum x^2. */
  public record Exact(long n, BigDecimal sum, BigDecimal sumSquares, double min, double max) {
    public static Exact of(double[] values) {
      BigDecimal s1 = BigDecimal.ZERO;
      BigDecimal s2 = BigDecimal.ZERO;
      double lo = Double.NaN;
      double hi = Double.NaN;
      for (double x : values) {
        BigDecimal b = new BigDecimal(x);
        s1 = s1.add(b);
        s2 = s2.add(b.multiply(b));
        lo = Double.isNaN(lo) ? x : Math.min(lo, x);
        hi = Double.isNaN(hi) ? x : Math.max(hi, x);
      }
      return new Exact(values.length, s1, s2, lo, hi);
    }

    /** n*S2 - S1^2: the variance numerator, exact. */
    public BigDecimal varianceNumerator() {
      BigDecimal bn = BigDecimal.valueOf(n);
      return bn.multiply(sumSquares).subtract(sum.multiply(sum));
    }
  }

  /** Asserts that {@code actual} is the double nearest (ties to even) to {@code num / den}. */
  public static void assertNearest(BigDecimal num, BigDecimal den, double actual, String what) {
    assertTrue(den.signum() > 0, "denominator must be positive");
    if (Double.isNaN(actual)) {
      fail(what + ": NaN for " + num + "/" + den);
    }
    if (Double.isInfinite(actual)) {
      // Correct only if |q| >= MAX_VALUE + ulp(MAX_VALUE)/2 (the tie goes to infinity: MAX is odd).
      BigDecimal limit = new BigDecimal(Double.MAX_VALUE)
          .add(new BigDecimal(Math.ulp(Double.MAX_VALUE)).divide(TWO));
      assertTrue(num.abs().compareTo(limit.multiply(den)) >= 0, what + ": overflow to infinity");
      assertEquals(num.signum() < 0, actual < 0, what + ": sign of infinity");
      return;
    }
    BigDecimal d = new BigDecimal(actual);
    BigDecimal below = midpoint(actual, Math.nextDown(actual));
    BigDecimal above = midpoint(actual, Math.nextUp(actual));
    int cLow = num.compareTo(below.multiply(den));
    int cHigh = num.compareTo(above.multiply(den));
    boolean even = (Double.doubleToRawLongBits(actual) & 1) == 0;
    String msg = what + ": " + actual + " is not the nearest double to " + num + "/" + den
        + " (distance " + num.divide(den, java.math.MathContext.DECIMAL64).subtract(d) + ")";
    assertTrue(cLow > 0 || (cLow == 0 && even), msg);
    assertTrue(cHigh < 0 || (cHigh == 0 && even), msg);
  }

  /** Asserts that {@code actual} is the double nearest to the square root of {@code num / den}. */
  public static void assertNearestSqrt(BigDecimal num, BigDecimal den, double actual, String what) {
    assertTrue(actual >= 0, what + ": " + actual);
    if (Double.isInfinite(actual)) {
      BigDecimal limit = midpoint(Double.MAX_VALUE, Double.POSITIVE_INFINITY);
      assertTrue(num.compareTo(limit.multiply(limit).multiply(den)) >= 0, what + ": overflow");
      return;
    }
    BigDecimal above = midpoint(actual, Math.nextUp(actual));
    boolean even = (Double.doubleToRawLongBits(actual) & 1) == 0;
    int cHigh = num.compareTo(above.multiply(above).multiply(den));
    assertTrue(cHigh < 0 || (cHigh == 0 && even), what + ": sqrt too small: " + actual);
    if (actual > 0) {
      BigDecimal below = midpoint(actual, Math.nextDown(actual));
      int cLow = num.compareTo(below.multiply(below).multiply(den));
      assertTrue(cLow > 0 || (cLow == 0 && even), what + ": sqrt too large: " + actual);
    } else {
      assertEquals(0, num.signum(), what + ": zero sqrt of a non-zero value");
    }
  }

  private static BigDecimal midpoint(double a, double b) {
    BigDecimal bb = Double.isInfinite(b)
        ? new BigDecimal(a).add(new BigDecimal(Math.ulp(a)).multiply(BigDecimal.valueOf(Math.signum(b))))
        : new BigDecimal(b);
    return new BigDecimal(a).add(bb).divide(TWO);
  }

  /**
   * Asserts that {@code actual} is the float nearest to {@code num / den} (ties to even), finite.
   */
  public static void assertNearestFloat(BigDecimal num, BigDecimal den, float actual, String what) {
    assertTrue(den.signum() > 0, "denominator must be positive");
    assertTrue(Float.isFinite(actual), what + ": " + actual + " for " + num + "/" + den);
    BigDecimal f = new BigDecimal(actual);
    BigDecimal below = f.add(new BigDecimal(Math.nextDown(actual))).divide(TWO);
    BigDecimal above = f.add(new BigDecimal(Math.nextUp(actual))).divide(TWO);
    int cLow = num.compareTo(below.multiply(den));
    int cHigh = num.compareTo(above.multiply(den));
    boolean even = (Float.floatToRawIntBits(actual) & 1) == 0;
    String msg = what + ": " + actual + " is not the nearest float to " + num + "/" + den;
    assertTrue(cLow > 0 || (cLow == 0 && even), msg);
    assertTrue(cHigh < 0 || (cHigh == 0 && even), msg);
  }

  /**
   * Asserts that {@code mean} and {@code variance} are the floats nearest to the exact mean and
   * variance (population, or sample with {@code sample}) of the finite {@code values}.
   */
  public static void assertFloatMoments(double[] values, float mean, float variance,
      boolean sample, String what) {
    Exact e = Exact.of(values);
    BigDecimal n = BigDecimal.valueOf(e.n());
    assertNearestFloat(e.sum(), n, mean, what + ": mean");
    BigDecimal den = sample ? n.multiply(BigDecimal.valueOf(e.n() - 1)) : n.multiply(n);
    assertNearestFloat(e.varianceNumerator(), den, variance, what
        + (sample ? ": var_samp" : ": var_pop"));
  }

  /** Asserts every statistic of {@code m} against the exact values of the finite {@code values}. */
  public static void assertMoments(double[] values, FeatureMoments m, String what) {
    Exact e = Exact.of(values);
    assertEquals(e.n(), m.count(), what + ": count");
    if (e.n() == 0) {
      assertTrue(Double.isNaN(m.mean()) && Double.isNaN(m.varPop()) && Double.isNaN(m.varSamp()),
          what + ": statistics of no values are undefined");
      return;
    }
    BigDecimal n = BigDecimal.valueOf(e.n());
    assertNearest(e.sum(), n, m.mean(), what + ": mean");
    BigDecimal numerator = e.varianceNumerator();
    assertTrue(numerator.signum() >= 0);
    assertNearest(numerator, n.multiply(n), m.varPop(), what + ": var_pop");
    assertNearestSqrt(numerator, n.multiply(n), m.stdPop(), what + ": std_pop");
    if (e.n() > 1) {
      BigDecimal nn1 = n.multiply(BigDecimal.valueOf(e.n() - 1));
      assertNearest(numerator, nn1, m.varSamp(), what + ": var_samp");
      assertNearestSqrt(numerator, nn1, m.stdSamp(), what + ": std_samp");
    } else {
      assertTrue(Double.isNaN(m.varSamp()) && Double.isNaN(m.stdSamp()), what + ": var_samp of 1");
    }
    assertEquals(e.min(), m.min(), what + ": min");
    assertEquals(e.max(), m.max(), what + ": max");
  }

  /** Exact integer as BigDecimal (for tests that build rationals from BigInteger). */
  public static BigDecimal of(BigInteger i) {
    return new BigDecimal(i);
  }
}
