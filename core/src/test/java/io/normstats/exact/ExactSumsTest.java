package io.normstats.exact;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class ExactSumsTest {

  /** The exact value of sum i of a bank, as BigDecimal. */
  private static BigDecimal exact(ExactSums s, int i) {
    BigDecimal v = new BigDecimal(s.toBigInteger(i));
    int e = s.lowExponent();
    BigDecimal scale = new BigDecimal(BigInteger.ONE.shiftLeft(Math.abs(e)));
    return e >= 0 ? v.multiply(scale) : v.divide(scale);
  }

  static double randomDouble(SplittableRandom rnd) {
    switch (rnd.nextInt(6)) {
      case 0:
        return rnd.nextDouble(-1, 1);
      case 1: // any finite bit pattern: every exponent, subnormals included
        double d;
        do {
          d = Double.longBitsToDouble(rnd.nextLong());
        } while (!Double.isFinite(d));
        return d;
      case 2:
        return (rnd.nextBoolean() ? 1 : -1) * Double.MIN_VALUE * rnd.nextInt(1, 1 << 20);
      case 3:
        return (rnd.nextBoolean() ? 1 : -1) * Math.scalb(1 + rnd.nextDouble(), rnd.nextInt(-1074, 1024));
      case 4:
        return 1e9 + 10 * rnd.nextDouble();
      default:
        return rnd.nextBoolean() ? Double.MAX_VALUE : -Double.MAX_VALUE;
    }
  }

  @ParameterizedTest
  @ValueSource(longs = {1, 2, 3, 4, 5})
  void sumsAndSquaresAreExactForAnyFiniteDoubles(long seed) {
    SplittableRandom rnd = new SplittableRandom(seed);
    ExactSums sums = ExactSums.ofValues(3);
    ExactSums squares = ExactSums.ofSquares(3);
    BigDecimal[] s1 = {BigDecimal.ZERO, BigDecimal.ZERO, BigDecimal.ZERO};
    BigDecimal[] s2 = {BigDecimal.ZERO, BigDecimal.ZERO, BigDecimal.ZERO};
    for (int t = 0; t < 5000; t++) { // > CARRY_INTERVAL, so carries are propagated several times
      int i = rnd.nextInt(3);
      double x = randomDouble(rnd);
      sums.add(i, x);
      squares.addSquare(i, x);
      BigDecimal b = new BigDecimal(x);
      s1[i] = s1[i].add(b);
      s2[i] = s2[i].add(b.multiply(b));
    }
    for (int i = 0; i < 3; i++) {
      assertEquals(0, s1[i].compareTo(exact(sums, i)), "sum " + i);
      assertEquals(0, s2[i].compareTo(exact(squares, i)), "sum of squares " + i);
      assertEquals(s1[i].doubleValue(), sums.doubleValue(i), "rounded sum " + i);
    }
  }

  @Test
  void squaresAtEveryShiftAndAtTheScalingBoundsAreExact() {
    // Squares in the unscaled range [2^-400, 2^500] go in as the 106-bit square of the
    // significand, spread over five chunks by its shift (0..31); around the bounds the scaled
    // split takes over. Every exponent of the range (so every shift, twice), significands with
    // all bits set or random, both signs, 3 rounds (over the carry interval), both accumulators,
    // against BigDecimal.
    SplittableRandom rnd = new SplittableRandom(17);
    ExactSums bank = ExactSums.ofSquares(1);
    WindowedSum windowed = WindowedSum.ofSquares();
    BigDecimal expected = BigDecimal.ZERO;
    for (int round = 0; round < 3; round++) {
      for (int e = -410; e <= 510; e++) {
        double significand = switch (round) {
          case 0 -> 2 - 0x1p-52; // 53 bits set: the square's top chunk is reached at shift 31
          case 1 -> 1;
          default -> 1 + rnd.nextDouble();
        };
        double x = (rnd.nextBoolean() ? 1 : -1) * Math.scalb(significand, e);
        bank.addSquare(0, x);
        windowed.addSquare(x);
        BigDecimal b = new BigDecimal(x);
        expected = expected.add(b.multiply(b));
      }
    }
    for (double x : new double[] {0x1p500, Math.nextUp(0x1p500), 0x1p-400,
        Math.nextDown(0x1p-400), -0x1p500, -0x1p-400}) {
      bank.addSquare(0, x);
      windowed.addSquare(x);
      BigDecimal b = new BigDecimal(x);
      expected = expected.add(b.multiply(b));
    }
    assertEquals(0, expected.compareTo(exact(bank, 0)), "ExactSums");
    BigDecimal w = new BigDecimal(windowed.toBigInteger());
    int u = windowed.unitExponent();
    BigDecimal unit = new BigDecimal(BigInteger.ONE.shiftLeft(Math.abs(u)));
    assertEquals(0, expected.compareTo(u >= 0 ? w.multiply(unit) : w.divide(unit)), "WindowedSum");
  }

  @Test
  void cancellationLeavesTheSmallTerms() {
    ExactSums s = ExactSums.ofValues(1);
    double[] terms = {1e300, 1.0, -1e300, Double.MIN_VALUE, 1e-300, -1e-300, -0.0};
    for (double x : terms) {
      s.add(0, x);
    }
    assertEquals(1.0, s.doubleValue(0)); // 1 + MIN_VALUE rounds to 1
    assertEquals(0, new BigDecimal(1.0).add(new BigDecimal(Double.MIN_VALUE)).compareTo(exact(s, 0)));
  }

  @Test
  void manyMaximalTermsDoNotOverflowTheAccumulator() {
    ExactSums s = ExactSums.ofValues(1);
    ExactSums sq = ExactSums.ofSquares(1);
    int n = 100_000;
    for (int t = 0; t < n; t++) {
      s.add(0, Double.MAX_VALUE);
      sq.addSquare(0, -Double.MAX_VALUE);
    }
    BigDecimal max = new BigDecimal(Double.MAX_VALUE);
    assertEquals(0, max.multiply(BigDecimal.valueOf(n)).compareTo(exact(s, 0)));
    assertEquals(0, max.multiply(max).multiply(BigDecimal.valueOf(n)).compareTo(exact(sq, 0)));
    assertEquals(Double.POSITIVE_INFINITY, s.doubleValue(0));
  }

  @Test
  void squaresOfSubnormalsAreKept() {
    ExactSums sq = ExactSums.ofSquares(1);
    sq.addSquare(0, Double.MIN_VALUE);
    sq.addSquare(0, -3 * Double.MIN_VALUE);
    // 10 * 2^-2148: far below any double, yet exact.
    assertEquals(BigInteger.valueOf(10).shiftLeft(-2148 - sq.lowExponent()), sq.toBigInteger(0));
    assertTrue(!sq.isZero(0));
  }

  @Test
  void mergeIsExactAndRejectsOtherShapes() {
    SplittableRandom rnd = new SplittableRandom(11);
    ExactSums whole = ExactSums.ofSquares(2);
    ExactSums a = ExactSums.ofSquares(2);
    ExactSums b = ExactSums.ofSquares(2);
    for (int t = 0; t < 3000; t++) {
      double x = randomDouble(rnd);
      int i = t % 2;
      whole.addSquare(i, x);
      (rnd.nextBoolean() ? a : b).addSquare(i, x);
    }
    b.merge(a);
    for (int i = 0; i < 2; i++) {
      assertEquals(whole.toBigInteger(i), b.toBigInteger(i));
    }
    assertThrows(IllegalArgumentException.class, () -> a.merge(ExactSums.ofValues(2)));
    assertThrows(IllegalArgumentException.class, () -> a.merge(ExactSums.ofSquares(3)));
  }
}
