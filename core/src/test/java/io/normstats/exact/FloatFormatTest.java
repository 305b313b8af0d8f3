package io.normstats.exact;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.MathContext;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * Rounding to binary16 and bfloat16 against an oracle that knows nothing of bit layouts: every
 * finite number of the format, listed from its definition, and the nearest found by BigDecimal
 * comparison (ties to the even significand).
 */
class FloatFormatTest {
  /** Every non-negative finite binary16 number (by bits 0..0x7BFF) and bfloat16 (0..0x7F7F). */
  private static TreeMap<BigDecimal, Integer> numbers(FloatFormat f) {
    TreeMap<BigDecimal, Integer> out = new TreeMap<>();
    int mantissaBits = f.precision() - 1;
    int bias = f.maxExponent();
    int maxBits = ((2 * bias) << mantissaBits) | ((1 << mantissaBits) - 1);
    for (int bits = 0; bits <= maxBits; bits++) {
      int e = bits >>> mantissaBits;
      int m = bits & ((1 << mantissaBits) - 1);
      BigDecimal v = e == 0
          ? new BigDecimal(BigInteger.valueOf(m)).multiply(pow2(1 - bias - mantissaBits))
          : new BigDecimal(BigInteger.valueOf((1L << mantissaBits) + m))
              .multiply(pow2(e - bias - mantissaBits));
      out.put(v, bits);
    }
    return out;
  }

  private static BigDecimal pow2(int e) {
    return e >= 0 ? new BigDecimal(BigInteger.ONE.shiftLeft(e))
        : BigDecimal.ONE.divide(new BigDecimal(BigInteger.ONE.shiftLeft(-e)));
  }

  /** The nearest (ties to even bits) of {@code numbers} to |x|, with x's sign; as a double. */
  private static double nearest(TreeMap<BigDecimal, Integer> numbers, BigDecimal x) {
    BigDecimal a = x.abs();
    var lo = numbers.floorEntry(a);
    var hi = numbers.ceilingEntry(a);
    BigDecimal pick;
    if (hi == null) {
      // beyond the largest: infinite from half an ulp above it (the next binade's first number)
      BigDecimal max = lo.getKey();
      BigDecimal ulp = max.subtract(numbers.lowerKey(max));
      pick = a.compareTo(max.add(ulp.divide(BigDecimal.valueOf(2)))) >= 0 ? null : max;
    } else {
      int cmp = a.subtract(lo.getKey()).compareTo(hi.getKey().subtract(a));
      pick = cmp < 0 ? lo.getKey() : cmp > 0 ? hi.getKey()
          : (lo.getValue() & 1) == 0 ? lo.getKey() : hi.getKey();
    }
    double d = pick == null ? Double.POSITIVE_INFINITY : pick.doubleValue();
    return x.signum() < 0 ? -d : d;
  }

  @Test
  void nearestFromDoubleMatchesTheOracle() {
    for (FloatFormat f : new FloatFormat[] {FloatFormat.BINARY16, FloatFormat.BFLOAT16}) {
      TreeMap<BigDecimal, Integer> numbers = numbers(f);
      SplittableRandom r = new SplittableRandom(16);
      for (int i = 0; i < 20_000; i++) {
        // values across the format's range, its subnormals and midpoints between its numbers
        double v = Math.scalb(r.nextDouble(1, 2), r.nextInt(-f.maxExponent() - f.precision() - 2,
            f.maxExponent() + 2)) * (r.nextBoolean() ? 1 : -1);
        if (i % 4 == 0) {
          BigDecimal a = numbers.floorKey(new BigDecimal(Math.abs(v)));
          BigDecimal b = numbers.higherKey(a);
          if (b != null) {
            v = Math.copySign(a.add(b).divide(BigDecimal.valueOf(2)).doubleValue(), v);
          }
        }
        assertEquals(nearest(numbers, new BigDecimal(v)), f.nearest(v), f + " " + v);
      }
    }
    assertEquals((float) 0.1, FloatFormat.BINARY32.nearest(0.1), 0);
  }

  @Test
  void bitsRoundTripEveryNumber() {
    for (int bits = 0; bits < 0x10000; bits++) {
      short h = (short) bits;
      double v = FloatFormat.binary16Value(h);
      if (!Double.isNaN(v)) {
        assertEquals(bits, FloatFormat.binary16Bits(v) & 0xFFFF, Integer.toHexString(bits));
      }
      double b = FloatFormat.bfloat16Value(h);
      if (!Double.isNaN(b)) {
        assertEquals(bits, FloatFormat.bfloat16Bits(b) & 0xFFFF, Integer.toHexString(bits));
      }
    }
    assertEquals(65504.0, FloatFormat.binary16Value((short) 0x7BFF));
    assertEquals(Math.pow(2, -24), FloatFormat.binary16Value((short) 1));
  }

  /** Rounded once from the exact quotient, not via the double nearest to it. */
  @Test
  void divideToRoundsTheExactQuotient() {
    for (FloatFormat f : new FloatFormat[] {FloatFormat.BINARY16, FloatFormat.BFLOAT16}) {
      TreeMap<BigDecimal, Integer> numbers = numbers(f);
      SplittableRandom r = new SplittableRandom(7);
      for (int i = 0; i < 5_000; i++) {
        BigInteger num = BigInteger.valueOf(r.nextLong(-1L << 40, 1L << 40));
        BigInteger den = BigInteger.valueOf(r.nextLong(1, 1L << 20));
        int exp2 = r.nextInt(-60, 10);
        BigDecimal exact = new BigDecimal(num).multiply(pow2(exp2))
            .divide(new BigDecimal(den), new MathContext(200));
        assertEquals(nearest(numbers, exact), CorrectRounding.divideTo(num, den, exp2, f),
            f + " " + num + "/" + den + "*2^" + exp2);
      }
      // just above a midpoint: the exact value rounds up where its nearest double may not
      BigInteger num = BigInteger.ONE.shiftLeft(80).add(BigInteger.ONE.shiftLeft(80 - f.precision()))
          .add(BigInteger.ONE);
      BigDecimal exact = new BigDecimal(num).multiply(pow2(-80));
      assertEquals(nearest(numbers, exact), CorrectRounding.divideTo(num, BigInteger.ONE, -80, f));
    }
  }
}
