package io.normstats.exact;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.normstats.testing.ExactOracle;
import java.math.BigDecimal;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * {@link ExactMoments#dividedBy}: the moments of x / d are rounded once from the exact rationals
 * (S1 / (n d), (n S2 - S1^2) / (n^2 d^2)), which the BigDecimal oracle checks; dividing the rounded
 * statistics instead would round twice.
 */
class ExactMomentsTest {
  @Test
  void dividedByRoundsOnceFromTheExactRationals() {
    SplittableRandom random = new SplittableRandom(4);
    for (long d : new long[] {1, 255, 65535, 3}) {
      MomentAccumulator acc = new MomentAccumulator(1);
      int n = 1 + random.nextInt(5000);
      double[] levels = new double[n];
      for (int i = 0; i < n; i++) {
        levels[i] = random.nextInt(65536);
        acc.addDense(new double[] {levels[i]});
      }
      ExactMoments m = acc.exact(0).dividedBy(d);
      ExactOracle.Exact e = ExactOracle.Exact.of(levels);
      BigDecimal bn = BigDecimal.valueOf(n);
      BigDecimal bd = BigDecimal.valueOf(d);
      ExactOracle.assertNearest(e.sum(), bn.multiply(bd), m.mean(), "mean / " + d);
      BigDecimal den = bn.multiply(bn).multiply(bd).multiply(bd);
      ExactOracle.assertNearest(e.varianceNumerator(), den, m.varPop(), "var_pop / " + d);
      ExactOracle.assertNearestSqrt(e.varianceNumerator(), den, m.stdPop(), "std_pop / " + d);
      if (n > 1) {
        BigDecimal nn1 = bn.multiply(BigDecimal.valueOf(n - 1)).multiply(bd).multiply(bd);
        ExactOracle.assertNearest(e.varianceNumerator(), nn1, m.varSamp(), "var_samp / " + d);
      }
      assertEquals(n, m.count());
    }
    assertThrows(IllegalArgumentException.class,
        () -> new MomentAccumulator(1).exact(0).dividedBy(0));
  }
}
