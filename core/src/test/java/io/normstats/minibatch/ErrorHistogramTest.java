package io.normstats.minibatch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The histogram's bins against a scan of the edges, and the log1p of the KL term. */
class ErrorHistogramTest {
  /** The first i with {@code x < upperEdge(i)}, by scanning every edge. */
  private static int scan(double x) {
    for (int i = 0; i <= ErrorHistogram.BINS; i++) {
      if (x < ErrorHistogram.upperEdge(i)) {
        return i;
      }
    }
    return ErrorHistogram.BINS + 1;
  }

  @Test
  void binsAreDefinedByTheEdgesAlone() {
    for (int i = 0; i <= ErrorHistogram.BINS; i++) {
      double edge = ErrorHistogram.upperEdge(i);
      for (double x : new double[] {edge, Math.nextUp(edge), Math.nextDown(edge)}) {
        assertEquals(scan(x), ErrorHistogram.bin(x), "x = " + x);
      }
      assertEquals(i + 1, ErrorHistogram.bin(edge), "an edge belongs to the bin above it");
    }
    SplittableRandom r = new SplittableRandom(4);
    for (int k = 0; k < 100_000; k++) {
      double x = Math.pow(10, r.nextDouble(-10, 6));
      assertEquals(scan(x), ErrorHistogram.bin(x), "x = " + x);
    }
    // both sides of every 1/64 of an octave, where the bin table's keys change
    for (int e = -28; e <= 14; e++) {
      for (int k = 0; k < 64; k++) {
        double x = Math.scalb(1 + k / 64.0, e);
        assertEquals(scan(x), ErrorHistogram.bin(x), "x = " + x);
        assertEquals(scan(Math.nextDown(x)), ErrorHistogram.bin(Math.nextDown(x)), "below " + x);
      }
    }
    for (double x : new double[] {0.0, -0.0, Double.MIN_VALUE, 1e4, Double.MAX_VALUE,
        Double.POSITIVE_INFINITY}) {
      assertEquals(scan(x), ErrorHistogram.bin(x), "x = " + x);
    }
  }

  @Test
  void log1pIsWithinAFewUlpOfStrictMath() {
    SplittableRandom r = new SplittableRandom(8);
    for (int k = 0; k < 100_000; k++) {
      double h = k % 2 == 0 ? r.nextDouble(-0.999, 10) : Math.pow(10, r.nextDouble(-17, 5));
      double expected = StrictMath.log1p(h);
      double actual = FeatureErrors.log1p(h);
      assertTrue(Math.abs(actual - expected) <= 4 * Math.ulp(expected),
          "log1p(" + h + ") = " + actual + ", StrictMath " + expected);
    }
    assertEquals(Double.NEGATIVE_INFINITY, FeatureErrors.log1p(-1));
    assertEquals(Double.POSITIVE_INFINITY, FeatureErrors.log1p(Double.POSITIVE_INFINITY));
    assertTrue(Double.isNaN(FeatureErrors.log1p(-2)));
    assertEquals(1e-300, FeatureErrors.log1p(1e-300));
  }
}
