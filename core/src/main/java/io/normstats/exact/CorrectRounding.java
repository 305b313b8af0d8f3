package io.normstats.exact;

import java.math.BigInteger;

/**
 * Correctly rounded conversions of exact values to double (and, for quotients, to float): round to nearest, ties to even, as IEEE
 * 754's default rounding, with subnormal results rounded at their own (coarser) precision and values
 * beyond {@link Double#MAX_VALUE} rounding to infinity.
 *
 * <p>Each conversion does a few BigInteger operations; normstats calls them once per feature, never
 * per row.
 */
public final class CorrectRounding {
  private static final int GUARD_BITS = 56; // > 53 + 2, so the rounding position is inside the quotient
  private static final long FRACTION_MASK = (1L << 52) - 1;
  private static final int DOUBLE_PRECISION = 53;
  private static final int DOUBLE_MIN_ULP_EXPONENT = -1074;

  private CorrectRounding() {}

  /**
   * The double nearest to {@code num / den * 2^exp2}.
   *
   * @param num the numerator, any sign
   * @param den the denominator, strictly positive
   * @param exp2 a power-of-two scale
   * @return the correctly rounded quotient; {@code +0.0} when {@code num} is zero
   * @throws ArithmeticException if {@code den <= 0}
   */
  public static double divide(BigInteger num, BigInteger den, int exp2) {
    return divideTo(num, den, exp2, FloatFormat.BINARY64);
  }

  /**
   * The float nearest to {@code num / den * 2^exp2}: rounded once from the exact value, which
   * rounding the nearest double to float does not always give (a double on a midpoint between two
   * floats rounds to even, whatever side of it the exact value lies).
   *
   * @param num the numerator, any sign
   * @param den the denominator, strictly positive
   * @param exp2 a power-of-two scale
   * @return the correctly rounded quotient in IEEE 754 binary32; {@code +0.0f} when {@code num} is
   *     zero; infinite beyond {@link Float#MAX_VALUE}'s rounding range
   * @throws ArithmeticException if {@code den <= 0}
   */
  public static float divideToFloat(BigInteger num, BigInteger den, int exp2) {
    return (float) divideTo(num, den, exp2, FloatFormat.BINARY32); // exact: a binary32 number
  }

  /**
   * The number of {@code format} nearest to {@code num / den * 2^exp2}, rounded once from the exact
   * value (ties to even), as the double that holds it exactly.
   *
   * @param num the numerator, any sign
   * @param den the denominator, strictly positive
   * @param exp2 a power-of-two scale
   * @param format the binary format rounded to
   * @return the correctly rounded quotient; {@code +0.0} when {@code num} is zero; infinite when it
   *     rounds beyond the format's largest finite number
   * @throws ArithmeticException if {@code den <= 0}
   */
  public static double divideTo(BigInteger num, BigInteger den, int exp2, FloatFormat format) {
    if (den.signum() <= 0) {
      throw new ArithmeticException("denominator must be positive: " + den);
    }
    if (num.signum() == 0) {
      return 0.0;
    }
    BigInteger a = num.abs();
    int shift = GUARD_BITS + den.bitLength() - a.bitLength();
    Quotient q = quotient(a, den, shift);
    long[] rounded = roundBits(q.value, q.inexact, exp2 - shift, format.precision(),
        format.minUlpExponent());
    double magnitude = Math.scalb((double) rounded[0], (int) rounded[1]);
    if (magnitude >= Math.scalb(1.0, format.maxExponent() + 1)) {
      magnitude = Double.POSITIVE_INFINITY;
    }
    return num.signum() < 0 ? -magnitude : magnitude;
  }

  /**
   * The double nearest to the square root of {@code num / den * 2^exp2}.
   *
   * @param num the numerator, {@code >= 0}
   * @param den the denominator, strictly positive
   * @param exp2 a power-of-two scale
   * @throws ArithmeticException if {@code num < 0} or {@code den <= 0}
   */
  public static double sqrt(BigInteger num, BigInteger den, int exp2) {
    if (den.signum() <= 0 || num.signum() < 0) {
      throw new ArithmeticException("sqrt needs num >= 0 and den > 0: " + num + " / " + den);
    }
    if (num.signum() == 0) {
      return 0.0;
    }
    if ((exp2 & 1) != 0) { // make the scale even: sqrt(2^(2k)) = 2^k
      num = num.shiftLeft(1);
      exp2 -= 1;
    }
    // X = num * 2^(2s) / den with at least 2 * GUARD_BITS bits, so floor(sqrt(X)) has GUARD_BITS.
    int twoS = 2 * GUARD_BITS + den.bitLength() - num.bitLength();
    twoS += twoS & 1;
    Quotient q = quotient(num, den, twoS);
    // floor(sqrt(floor(X))) == floor(sqrt(X))
    BigInteger[] root = integerSqrt(q.value);
    boolean inexact = q.inexact || root[1].signum() != 0;
    return round(root[0], inexact, exp2 / 2 - twoS / 2);
  }

  /**
   * {floor(sqrt(x)), x - floor(sqrt(x))^2} for x >= 0, as {@link BigInteger#sqrtAndRemainder}. For
   * the roots {@link #sqrt} takes (x of 2 * GUARD_BITS = 112 or 113 bits), the double square root
   * of x is within a few units of the integer root, which a few exact steps settle: 6 to 18x
   * faster than the JDK's Newton iteration by long division in a micro-benchmark of such radicands
   * (0.6 to 3.6 against 10 to 26 us per root on a busy 2-core machine).
   */
  static BigInteger[] integerSqrt(BigInteger x) {
    if (x.bitLength() > 120) {
      return x.sqrtAndRemainder();
    }
    BigInteger r = BigInteger.valueOf((long) Math.sqrt(x.doubleValue())); // < 2^61
    BigInteger rest = x.subtract(r.multiply(r));
    while (rest.signum() < 0) { // r too large: (r-1)^2 = r^2 - 2r + 1
      r = r.subtract(BigInteger.ONE);
      rest = rest.add(r.shiftLeft(1)).add(BigInteger.ONE);
    }
    BigInteger step = r.shiftLeft(1).add(BigInteger.ONE); // (r+1)^2 - r^2
    while (rest.compareTo(step) >= 0) {
      rest = rest.subtract(step);
      r = r.add(BigInteger.ONE);
      step = step.add(BigInteger.TWO);
    }
    return new BigInteger[] {r, rest};
  }

  /** floor(a * 2^shift / den), and whether the division left a remainder. */
  private record Quotient(BigInteger value, boolean inexact) {}

  /**
   * floor(a * 2^shift / den) for {@code a >= 0}, {@code den > 0}. For {@code shift < 0} it divides
   * floor(a / 2^-shift) by {@code den} (the same floor, since floor(floor(x) / d) = floor(x / d)
   * for an integer d) rather than {@code a} by a shifted, many-word divisor; the bits shifted out
   * count towards the remainder. Small operands divide as longs.
   */
  private static Quotient quotient(BigInteger a, BigInteger den, int shift) {
    boolean droppedBits = false;
    if (shift >= 0) {
      a = a.shiftLeft(shift);
    } else {
      droppedBits = a.signum() != 0 && a.getLowestSetBit() < -shift;
      a = a.shiftRight(-shift);
    }
    if (a.bitLength() < 64 && den.bitLength() < 64) {
      long x = a.longValue();
      long d = den.longValue();
      return new Quotient(BigInteger.valueOf(x / d), droppedBits || x % d != 0);
    }
    BigInteger[] qr = a.divideAndRemainder(den);
    return new Quotient(qr[0], droppedBits || qr[1].signum() != 0);
  }

  /**
   * Rounds {@code (q + f) * 2^exp} to the nearest double, where {@code q >= 0} and {@code 0 <= f < 1}
   * is a fraction known only as zero ({@code sticky == false}) or non-zero ({@code sticky == true}).
   * When {@code sticky}, {@code q} must have at least 55 bits so that the fraction lies below the
   * rounding position.
   */
  static double round(BigInteger q, boolean sticky, int exp) {
    long[] rounded = roundBits(q, sticky, exp, DOUBLE_PRECISION, DOUBLE_MIN_ULP_EXPONENT);
    return assemble(rounded[0], (int) rounded[1]);
  }

  /**
   * Rounds {@code (q + f) * 2^exp} (as {@link #round}) to {@code precision} significant bits, with
   * the unit in the last place at least {@code 2^minUlpExponent} (the subnormal range).
   *
   * @return {mantissa, ulpExponent}: the rounded value is {@code mantissa * 2^ulpExponent}, with
   *     {@code mantissa <= 2^precision}
   */
  private static long[] roundBits(BigInteger q, boolean sticky, int exp, int precision,
      int minUlpExponent) {
    int length = q.bitLength();
    if (length == 0) {
      if (sticky) {
        throw new IllegalArgumentException("too few quotient bits to round");
      }
      return new long[] {0, minUlpExponent};
    }
    int ulpExponent = Math.max(length - precision + exp, minUlpExponent);
    int drop = ulpExponent - exp;
    long mantissa;
    if (drop <= 0) {
      if (sticky) {
        throw new IllegalArgumentException("too few quotient bits to round");
      }
      mantissa = q.shiftLeft(-drop).longValueExact();
    } else {
      BigInteger kept = q.shiftRight(drop);
      boolean half = q.testBit(drop - 1);
      boolean belowHalf = sticky || q.getLowestSetBit() < drop - 1;
      if (kept.bitLength() > precision + 1) {
        throw new AssertionError("rounding kept too many bits");
      }
      mantissa = kept.longValue();
      if (half && (belowHalf || (mantissa & 1) != 0)) {
        mantissa++;
      }
    }
    return new long[] {mantissa, ulpExponent};
  }

  /** The double {@code mantissa * 2^ulpExponent} for {@code 0 <= mantissa <= 2^53}, exactly. */
  private static double assemble(long mantissa, int ulpExponent) {
    if (mantissa == 1L << 53) {
      mantissa >>= 1;
      ulpExponent++;
    }
    if (mantissa < 1L << 52) { // subnormal or zero: only reached with ulpExponent == -1074
      return Double.longBitsToDouble(mantissa);
    }
    long biased = ulpExponent + 1075L;
    if (biased >= 2047) {
      return Double.POSITIVE_INFINITY;
    }
    return Double.longBitsToDouble((biased << 52) | (mantissa & FRACTION_MASK));
  }
}
