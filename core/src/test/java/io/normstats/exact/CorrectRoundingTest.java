package io.normstats.exact;

import static io.normstats.testing.ExactOracle.assertNearest;
import static io.normstats.testing.ExactOracle.assertNearestFloat;
import static io.normstats.testing.ExactOracle.assertNearestSqrt;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class CorrectRoundingTest {
  private static BigInteger big(long v) {
    return BigInteger.valueOf(v);
  }

  @Test
  void handDerivedQuotients() {
    assertEquals(1.5, CorrectRounding.divide(big(3), big(2), 0));
    assertEquals(0.1, CorrectRounding.divide(big(1), big(10), 0)); // Double.parseDouble("0.1")
    assertEquals(1.0 / 3.0, CorrectRounding.divide(big(1), big(3), 0));
    assertEquals(-2.0 / 3.0, CorrectRounding.divide(big(-2), big(3), 0));
    assertEquals(0.75, CorrectRounding.divide(big(3), big(1), -2));
    assertEquals(0.0, CorrectRounding.divide(big(0), big(7), 5));
  }

  @Test
  void tiesGoToEven() {
    // 2^53 + 1 lies halfway between 2^53 and 2^53 + 2: the even one is 2^53.
    assertEquals(0x1p53, CorrectRounding.divide(big((1L << 53) + 1), BigInteger.ONE, 0));
    // 2^53 + 3 lies halfway between 2^53 + 2 and 2^53 + 4: 2^53 + 4 has the even mantissa.
    assertEquals(0x1p53 + 4, CorrectRounding.divide(big((1L << 53) + 3), BigInteger.ONE, 0));
    // Just above a tie rounds up.
    BigInteger justAbove = big((1L << 53) + 1).shiftLeft(10).add(BigInteger.ONE);
    assertEquals(0x1p53 + 2, CorrectRounding.divide(justAbove, BigInteger.ONE, -10));
  }

  @Test
  void subnormalsAndOverflow() {
    assertEquals(Double.MIN_VALUE, CorrectRounding.divide(big(1), big(1), -1074));
    assertEquals(3 * Double.MIN_VALUE, CorrectRounding.divide(big(3), big(1), -1074));
    // Half of MIN_VALUE ties to zero (even); a bit more than half rounds to MIN_VALUE.
    assertEquals(0.0, CorrectRounding.divide(big(1), big(1), -1075));
    assertEquals(Double.MIN_VALUE, CorrectRounding.divide(big(3), big(1), -1076));
    // 1.5 * MIN_VALUE ties to 2 * MIN_VALUE.
    assertEquals(2 * Double.MIN_VALUE, CorrectRounding.divide(big(3), big(1), -1075));
    assertEquals(Double.MIN_NORMAL, CorrectRounding.divide(big(1), big(1), -1022));
    assertEquals(Double.MAX_VALUE,
        CorrectRounding.divide(big((1L << 53) - 1), BigInteger.ONE, 1024 - 53));
    assertEquals(Double.POSITIVE_INFINITY, CorrectRounding.divide(big(1), big(1), 1024));
    assertEquals(Double.NEGATIVE_INFINITY, CorrectRounding.divide(big(-1), big(1), 1024));
  }

  @Test
  void randomQuotientsAgainstOracle() {
    SplittableRandom rnd = new SplittableRandom(42);
    for (int t = 0; t < 3000; t++) {
      BigInteger num = new BigInteger(1 + rnd.nextInt(300), new java.util.Random(rnd.nextLong()));
      if (rnd.nextBoolean()) {
        num = num.negate();
      }
      BigInteger den = new BigInteger(1 + rnd.nextInt(200), new java.util.Random(rnd.nextLong()))
          .add(BigInteger.ONE);
      int exp = rnd.nextInt(-1300, 1000);
      double q = CorrectRounding.divide(num, den, exp);
      assertNearest(scaled(num, exp), new BigDecimal(den), q, "divide #" + t);
    }
  }

  @Test
  void squareRoots() {
    assertEquals(3.0, CorrectRounding.sqrt(big(9), big(1), 0));
    assertEquals(Math.sqrt(2.0), CorrectRounding.sqrt(big(2), big(1), 0));
    assertEquals(0.5, CorrectRounding.sqrt(big(1), big(1), -2));
    assertEquals(Math.sqrt(Double.MIN_VALUE), CorrectRounding.sqrt(big(1), big(1), -1074));
    assertEquals(0x1p700, CorrectRounding.sqrt(big(1), big(1), 1400)); // beyond double's range
    SplittableRandom rnd = new SplittableRandom(7);
    for (int t = 0; t < 2000; t++) {
      BigInteger num = new BigInteger(1 + rnd.nextInt(300), new java.util.Random(rnd.nextLong()));
      BigInteger den = new BigInteger(1 + rnd.nextInt(100), new java.util.Random(rnd.nextLong()))
          .add(BigInteger.ONE);
      int exp = rnd.nextInt(-2300, 1800);
      double r = CorrectRounding.sqrt(num, den, exp);
      if (Double.isInfinite(r) || r == 0) {
        continue; // out of double's range either way; covered by the bounded cases above
      }
      assertNearestSqrt(scaled(num, exp), new BigDecimal(den), r, "sqrt #" + t);
    }
  }

  @Test
  void integerRootsAreTheJdksRoots() {
    // The root by a double estimate and exact steps, against BigInteger.sqrtAndRemainder: squares,
    // their neighbours (where a rounded double estimate is off by one), and random widths around
    // the 112 to 113 bits sqrt takes and past the 120 where it defers to the JDK.
    java.util.List<BigInteger> xs = new java.util.ArrayList<>();
    SplittableRandom rnd = new SplittableRandom(11);
    for (int t = 0; t < 20_000; t++) {
      int bits = t % 4 == 0 ? rnd.nextInt(1, 130) : rnd.nextInt(108, 118);
      BigInteger x = new BigInteger(bits, new java.util.Random(rnd.nextLong()));
      BigInteger r = x.sqrt();
      xs.add(x);
      xs.add(r.multiply(r));
      xs.add(r.multiply(r).subtract(BigInteger.ONE).max(BigInteger.ZERO));
      xs.add(r.add(BigInteger.ONE).pow(2).subtract(BigInteger.ONE));
    }
    xs.add(BigInteger.ZERO);
    xs.add(BigInteger.ONE.shiftLeft(113).subtract(BigInteger.ONE));
    xs.add(BigInteger.ONE.shiftLeft(120).subtract(BigInteger.ONE));
    for (BigInteger x : xs) {
      BigInteger[] expected = x.sqrtAndRemainder();
      BigInteger[] actual = CorrectRounding.integerSqrt(x);
      assertEquals(expected[0], actual[0], "root of " + x);
      assertEquals(expected[1], actual[1], "remainder of " + x);
    }
  }

  @Test
  void floatQuotientsRoundOnceFromTheExactValue() {
    assertEquals(1.5f, CorrectRounding.divideToFloat(big(3), big(2), 0));
    assertEquals(0.1f, CorrectRounding.divideToFloat(big(1), big(10), 0));
    assertEquals(-1.0f / 3.0f, CorrectRounding.divideToFloat(big(-1), big(3), 0));
    assertEquals(0.0f, CorrectRounding.divideToFloat(big(0), big(3), 0));
    // 1 + 2^-24 + 2^-80 lies just above the midpoint of the floats 1 and 1 + 2^-23. Its nearest
    // double is the midpoint 1 + 2^-24 itself, which rounds to the even float 1: rounding twice
    // gives 1, rounding once 1 + 2^-23.
    BigInteger justAboveMidpoint = BigInteger.ONE.shiftLeft(80).add(BigInteger.ONE.shiftLeft(56))
        .add(BigInteger.ONE);
    assertEquals(1.0f, (float) CorrectRounding.divide(justAboveMidpoint, BigInteger.ONE, -80));
    assertEquals(Math.nextUp(1.0f),
        CorrectRounding.divideToFloat(justAboveMidpoint, BigInteger.ONE, -80));
    // An exact midpoint ties to even: 1 + 2^-24 -> 1; 1 + 3 * 2^-24 -> 1 + 2^-22.
    assertEquals(1.0f, CorrectRounding.divideToFloat(big((1 << 24) + 1), BigInteger.ONE, -24));
    assertEquals(1.0f + 0x1p-22f,
        CorrectRounding.divideToFloat(big((1 << 24) + 3), BigInteger.ONE, -24));
    // Subnormals, the largest float and overflow.
    assertEquals(Float.MIN_VALUE, CorrectRounding.divideToFloat(big(1), big(1), -149));
    assertEquals(0.0f, CorrectRounding.divideToFloat(big(1), big(1), -150)); // a tie, to zero
    assertEquals(Float.MIN_VALUE, CorrectRounding.divideToFloat(big(3), big(1), -151));
    assertEquals(Float.MIN_NORMAL, CorrectRounding.divideToFloat(big(1), big(1), -126));
    assertEquals(Float.MAX_VALUE,
        CorrectRounding.divideToFloat(big((1L << 24) - 1), BigInteger.ONE, 128 - 24));
    assertEquals(Float.POSITIVE_INFINITY, CorrectRounding.divideToFloat(big(1), big(1), 128));
    assertEquals(Float.NEGATIVE_INFINITY, CorrectRounding.divideToFloat(big(-1), big(1), 128));
  }

  @Test
  void randomFloatQuotientsAgainstOracle() {
    SplittableRandom rnd = new SplittableRandom(24);
    for (int t = 0; t < 3000; t++) {
      BigInteger num = new BigInteger(1 + rnd.nextInt(200), new java.util.Random(rnd.nextLong()));
      if (rnd.nextBoolean()) {
        num = num.negate();
      }
      BigInteger den = new BigInteger(1 + rnd.nextInt(150), new java.util.Random(rnd.nextLong()))
          .add(BigInteger.ONE);
      int exp = rnd.nextInt(-200, 80);
      float q = CorrectRounding.divideToFloat(num, den, exp);
      if (Float.isInfinite(q) || q == 0) {
        continue; // beyond float's range either way; the bounded cases are above
      }
      assertNearestFloat(scaled(num, exp), new BigDecimal(den), q, "divideToFloat #" + t);
    }
  }

  @Test
  void rejectsBadDenominators() {
    assertThrows(ArithmeticException.class, () -> CorrectRounding.divide(big(1), big(0), 0));
    assertThrows(ArithmeticException.class, () -> CorrectRounding.sqrt(big(-1), big(1), 0));
  }

  private static BigDecimal scaled(BigInteger num, int exp) {
    BigDecimal b = new BigDecimal(num);
    return exp >= 0
        ? b.multiply(new BigDecimal(BigInteger.ONE.shiftLeft(exp)))
        : b.divide(new BigDecimal(BigInteger.ONE.shiftLeft(-exp))); // exact: a power of 2
  }
}
