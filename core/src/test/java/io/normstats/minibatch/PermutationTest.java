package io.normstats.minibatch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.BitSet;
import org.junit.jupiter.api.Test;

class PermutationTest {
  @Test
  void isABijectionForEverySize() {
    for (int n = 0; n <= 300; n++) {
      for (long seed : new long[] {0, 1, -5}) {
        Permutation p = new Permutation(n, seed, 3);
        BitSet seen = new BitSet(n);
        for (int i = 0; i < n; i++) {
          long x = p.apply(i);
          assertTrue(x >= 0 && x < n, "n=" + n + ": " + x);
          assertFalse(seen.get((int) x), "n=" + n + ": " + x + " twice");
          seen.set((int) x);
        }
      }
    }
    Permutation big = new Permutation(1_000_003, 9, 0);
    BitSet seen = new BitSet();
    for (int i = 0; i < 1_000_003; i++) {
      seen.set((int) big.apply(i));
    }
    assertEquals(1_000_003, seen.cardinality());
  }

  @Test
  void dependsOnSeedAndEpoch() {
    int n = 1000;
    long[] a = positions(new Permutation(n, 0, 0));
    assertNotEquals(0, differences(a, positions(new Permutation(n, 0, 1))));
    assertNotEquals(0, differences(a, positions(new Permutation(n, 1, 0))));
    assertEquals(0, differences(a, positions(new Permutation(n, 0, 0))));
    // a shuffle, not a near-identity: few fixed points (about 1 expected)
    int fixed = 0;
    for (int i = 0; i < n; i++) {
      fixed += a[i] == i ? 1 : 0;
    }
    assertTrue(fixed < 10, fixed + " fixed points");
  }

  @Test
  void positionsAreUniform() {
    // Over many seeds, index 0 lands in each tenth of [0, n) about equally often (chi-square, 9 dof;
    // 27.9 is the 0.999 quantile), and consecutive indices land independently.
    int n = 1000;
    int trials = 20_000;
    int[] bins = new int[10];
    int sameTenth = 0;
    for (int s = 0; s < trials; s++) {
      Permutation p = new Permutation(n, s, 0);
      bins[(int) (p.apply(0) * 10 / n)]++;
      if (p.apply(0) * 10 / n == p.apply(1) * 10 / n) {
        sameTenth++;
      }
    }
    double expected = trials / 10.0;
    double chi2 = 0;
    for (int b : bins) {
      chi2 += (b - expected) * (b - expected) / expected;
    }
    assertTrue(chi2 < 27.9, "chi-square " + chi2);
    assertEquals(0.1, sameTenth / (double) trials, 0.01);
  }

  @Test
  void refusesOutOfRangeIndices() {
    Permutation p = new Permutation(10, 0, 0);
    assertThrows(IndexOutOfBoundsException.class, () -> p.apply(10));
    assertThrows(IndexOutOfBoundsException.class, () -> p.apply(-1));
    assertThrows(IllegalArgumentException.class, () -> new Permutation(-1, 0, 0));
  }

  private static long[] positions(Permutation p) {
    long[] out = new long[(int) p.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = p.apply(i);
    }
    return out;
  }

  private static int differences(long[] a, long[] b) {
    int d = 0;
    for (int i = 0; i < a.length; i++) {
      d += a[i] != b[i] ? 1 : 0;
    }
    return d;
  }
}
