package io.normstats.minibatch;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class SpreadTest {
  @Test
  void type7PercentilesIgnoringNaN() {
    // numpy.percentile([1, 2, 3, 4, 10], [50, 90]) == [3.0, 7.6]
    Spread s = Spread.of(new double[] {10, Double.NaN, 2, 4, 1, 3});
    assertEquals(3.0, s.median());
    assertEquals(7.6, s.p90(), 1e-15);
    assertEquals(10.0, s.max());
    assertEquals(5, s.defined());
    Spread none = Spread.of(new double[] {Double.NaN});
    assertEquals(0, none.defined());
    assertEquals(Double.NaN, none.median());
  }

  @Test
  void infinityIsNotNaN() {
    Spread s = Spread.of(new double[] {1, 2, Double.POSITIVE_INFINITY});
    assertEquals(2.0, s.median());
    assertEquals(Double.POSITIVE_INFINITY, s.p90());
    assertEquals(Double.POSITIVE_INFINITY, s.max());
  }
}
