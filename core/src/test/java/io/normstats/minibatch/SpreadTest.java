package io.normstats.minibatch;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import java.util.SplittableRandom;
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

  /** Type-7 percentile of ascending {@code sorted} (the definition, from a full sort). */
  private static double sortedPercentile(double[] sorted, double p) {
    double h = (sorted.length - 1) * p;
    int lo = (int) Math.floor(h);
    double frac = h - lo;
    if (frac == 0 || lo + 1 >= sorted.length) {
      return sorted[lo];
    }
    double a = sorted[lo];
    double b = sorted[lo + 1];
    return a == b ? a : a + frac * (b - a);
  }

  @Test
  void selectionEqualsSortingBitForBit() {
    SplittableRandom r = new SplittableRandom(11);
    double[] pool = {0.0, -0.0, 1.0, 2.0, 1e-300, Double.POSITIVE_INFINITY, Double.NaN, 3.5};
    for (int trial = 0; trial < 20_000; trial++) {
      int n = trial < 19_900 ? r.nextInt(0, 40) : r.nextInt(700, 3000);
      boolean fewValues = r.nextBoolean(); // many ties
      double[] values = new double[n];
      for (int i = 0; i < n; i++) {
        values[i] = fewValues ? pool[r.nextInt(pool.length)] : r.nextDouble(-1, 1e3);
      }
      if (trial % 7 == 0) {
        Arrays.sort(values); // sorted and reversed inputs, the worst cases of naive pivots
      } else if (trial % 7 == 1) {
        Arrays.sort(values);
        for (int i = 0; i < n / 2; i++) {
          double t = values[i];
          values[i] = values[n - 1 - i];
          values[n - 1 - i] = t;
        }
      }
      double[] sorted = Arrays.stream(values).filter(v -> !Double.isNaN(v)).sorted().toArray();
      Spread s = Spread.of(values.clone());
      String what = Arrays.toString(values);
      assertEquals(sorted.length, s.defined(), what);
      if (sorted.length == 0) {
        assertEquals(Double.NaN, s.median(), what);
        continue;
      }
      // assertEquals on Doubles tells -0.0 from 0.0
      assertEquals(Double.valueOf(sortedPercentile(sorted, 0.5)), Double.valueOf(s.median()), what);
      assertEquals(Double.valueOf(sortedPercentile(sorted, 0.9)), Double.valueOf(s.p90()), what);
      assertEquals(Double.valueOf(sorted[sorted.length - 1]), Double.valueOf(s.max()), what);
    }
  }
}
