package io.normstats.exact;

import static io.normstats.testing.ExactOracle.assertFloatMoments;
import static io.normstats.testing.ExactOracle.assertMoments;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class MomentAccumulatorTest {

  /** Named single-feature data sets: random and adversarial. */
  static Stream<Arguments> datasets() {
    SplittableRandom r = new SplittableRandom(2024);
    List<Arguments> cases = new ArrayList<>();
    cases.add(Arguments.of("one value", new double[] {3.25}));
    cases.add(Arguments.of("two values", new double[] {1, 2}));
    cases.add(Arguments.of("constant", filled(1001, i -> 0.1)));
    cases.add(Arguments.of("1e9 + 10 U(0,1)", filled(20_000, i -> 1e9 + 10 * r.nextDouble())));
    cases.add(Arguments.of("2^50 + small integers", filled(5000, i -> 0x1p50 + r.nextInt(-8, 9))));
    cases.add(Arguments.of("near 1e160: squares overflow", filled(3000, i -> 1e160 * (1 + r.nextDouble()))));
    cases.add(Arguments.of("+-1e300 and 1e-300",
        filled(999, i -> i % 3 == 0 ? 1e300 : i % 3 == 1 ? -1e300 : 1e-300)));
    cases.add(Arguments.of("+-MAX_VALUE: variance overflows",
        filled(10, i -> i % 2 == 0 ? Double.MAX_VALUE : -Double.MAX_VALUE)));
    cases.add(Arguments.of("subnormals", filled(3000, i -> Double.MIN_VALUE * r.nextInt(0, 1 << 30))));
    cases.add(Arguments.of("squares underflow", filled(2000, i -> 1e-200 * r.nextDouble(-1, 1))));
    cases.add(Arguments.of("signed zeros", new double[] {0.0, -0.0, -0.0, 0.0}));
    cases.add(Arguments.of("negative zeros only", new double[] {-0.0, -0.0}));
    cases.add(Arguments.of("alternating signs", filled(4001, i -> (i % 2 == 0 ? 1 : -1) * (1 + i * 1e-12))));
    cases.add(Arguments.of("catastrophic cancellation",
        new double[] {1e16, 1, -1e16, 1, 1e16 + 2, -1e16, 3}));
    cases.add(Arguments.of("any finite bits", filled(4000, i -> ExactSumsTest.randomDouble(r))));
    cases.add(Arguments.of("pixels 0..255", filled(10_000, i -> r.nextInt(256))));
    return cases.stream();
  }

  private static double[] filled(int n, java.util.function.IntToDoubleFunction f) {
    double[] v = new double[n];
    for (int i = 0; i < n; i++) {
      v[i] = f.applyAsDouble(i);
    }
    return v;
  }

  private static MomentAccumulator accumulate(double[] values, int from, int to) {
    MomentAccumulator acc = new MomentAccumulator(1);
    for (int i = from; i < to; i++) {
      acc.addDense(new double[] {values[i]});
    }
    return acc;
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("datasets")
  void matchesTheExactOracle(String name, double[] values) {
    assertMoments(values, accumulate(values, 0, values.length).moments(0), name);
  }

  /** Float32 activations, as ONNX Runtime computes them: the floats nearest the exact moments. */
  static Stream<Arguments> floatDatasets() {
    SplittableRandom r = new SplittableRandom(32);
    List<Arguments> cases = new ArrayList<>();
    cases.add(Arguments.of("relu outputs", filled(20_000, i -> Math.max(0f, (float) r.nextGaussian()))));
    cases.add(Arguments.of("offset 1000 + N(0, 1e-3)",
        filled(10_000, i -> (float) (1000 + 1e-3 * r.nextGaussian()))));
    cases.add(Arguments.of("tiny and large floats",
        filled(5001, i -> i % 2 == 0 ? (float) (1e-30 * r.nextDouble()) : (float) (1e15 * r.nextDouble()))));
    cases.add(Arguments.of("two values", new double[] {1.0f, 2.0f}));
    return cases.stream();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("floatDatasets")
  void floatStatisticsAreRoundedOnceFromTheExactValue(String name, double[] values) {
    ExactMoments e = accumulate(values, 0, values.length).exact(0);
    assertFloatMoments(values, e.meanToFloat(), e.varPopToFloat(), false, name);
    assertFloatMoments(values, e.meanToFloat(), e.varSampToFloat(), true, name);
    FeatureMoments m = accumulate(values, 0, values.length).moments(0);
    assertEquals(m.mean(), e.mean());
    assertEquals(m.varPop(), e.varPop());
    assertEquals(m.varSamp(), e.varSamp());
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("datasets")
  void permutationsAndSplitMergeTreesGiveIdenticalBits(String name, double[] values) {
    FeatureMoments expected = accumulate(values, 0, values.length).moments(0);
    SplittableRandom rnd = new SplittableRandom(name.hashCode());
    for (int trial = 0; trial < 5; trial++) {
      double[] shuffled = values.clone();
      for (int i = shuffled.length - 1; i > 0; i--) {
        int j = rnd.nextInt(i + 1);
        double t = shuffled[i];
        shuffled[i] = shuffled[j];
        shuffled[j] = t;
      }
      // Split into random parts, some empty, and merge them in a random binary tree.
      List<MomentAccumulator> parts = new ArrayList<>();
      int start = 0;
      while (start < shuffled.length) {
        int size = rnd.nextInt(0, 1 + shuffled.length / 3);
        if (size == 0) {
          parts.add(new MomentAccumulator(1)); // an empty partition
          size = 1;
        }
        int end = Math.min(shuffled.length, start + size);
        parts.add(accumulate(shuffled, start, end));
        start = end;
      }
      parts.add(new MomentAccumulator(1));
      while (parts.size() > 1) {
        MomentAccumulator a = parts.remove(rnd.nextInt(parts.size()));
        MomentAccumulator b = parts.remove(rnd.nextInt(parts.size()));
        a.merge(b);
        parts.add(a);
      }
      assertEquals(expected, parts.get(0).moments(0), name + " trial " + trial);
    }
  }

  @Test
  void handDerivedStatistics() {
    MomentAccumulator acc = new MomentAccumulator(2);
    acc.addDense(new double[] {1, 10});
    acc.addDense(new double[] {2, 10});
    acc.addDense(new double[] {3, 10});
    acc.addDense(new double[] {4, 10});
    FeatureMoments m = acc.moments(0);
    assertEquals(4, m.count());
    assertEquals(2.5, m.mean());
    assertEquals(1.25, m.varPop()); // (1.5^2 + 0.5^2 + 0.5^2 + 1.5^2) / 4
    assertEquals(5.0 / 3.0, m.varSamp()); // 5 / 3, one rounding
    assertEquals(Math.sqrt(1.25), m.stdPop());
    assertEquals(1.0, m.min());
    assertEquals(4.0, m.max());
    FeatureMoments c = acc.moments(1);
    assertEquals(10.0, c.mean());
    assertEquals(0.0, c.varPop());
    assertEquals(0.0, c.stdSamp());
  }

  @Test
  void undefinedStatisticsAreNaN() {
    MomentAccumulator acc = new MomentAccumulator(2);
    acc.beginRow();
    acc.add(0, 7.0);
    acc.addNull(1);
    FeatureMoments one = acc.moments(0);
    assertEquals(7.0, one.mean());
    assertEquals(0.0, one.varPop());
    assertTrue(Double.isNaN(one.varSamp()) && Double.isNaN(one.stdSamp()));
    FeatureMoments none = acc.moments(1);
    assertEquals(0, none.count());
    assertEquals(1, none.nullCount());
    assertTrue(Double.isNaN(none.mean()) && Double.isNaN(none.min()) && Double.isNaN(none.varPop()));
  }

  @Test
  void nanInfinityAndNullAreCountedNotSummed() {
    MomentAccumulator acc = new MomentAccumulator(1);
    double[] values = {1, Double.NaN, 2, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, 4};
    for (double v : values) {
      acc.addDense(new double[] {v});
    }
    acc.addMissingRow();
    FeatureMoments m = acc.moments(0);
    assertEquals(3, m.nanCount());
    assertEquals(1, m.nullCount());
    assertEquals(4, m.invalidCount());
    assertMoments(new double[] {1, 2, 4}, m, "finite values only");
  }

  @Test
  void sparseRowsEqualDenseRows() {
    SplittableRandom rnd = new SplittableRandom(5);
    int d = 7;
    MomentAccumulator dense = new MomentAccumulator(d);
    MomentAccumulator sparse = new MomentAccumulator(d);
    double[][] columns = new double[d][300];
    for (int row = 0; row < 300; row++) {
      double[] v = new double[d];
      int[] idx = new int[d];
      double[] vals = new double[d];
      int k = 0;
      for (int j = 0; j < d; j++) {
        v[j] = rnd.nextInt(4) == 0 ? rnd.nextDouble(-5, 5) : 0.0;
        if (v[j] != 0 || rnd.nextInt(10) == 0) { // some explicit zeros too
          idx[k] = j;
          vals[k++] = v[j];
        }
        columns[j][row] = v[j];
      }
      dense.addDense(v);
      sparse.addSparse(Arrays.copyOf(idx, k), Arrays.copyOf(vals, k));
    }
    for (int j = 0; j < d; j++) {
      assertEquals(dense.moments(j), sparse.moments(j), "feature " + j);
      assertMoments(columns[j], sparse.moments(j), "feature " + j);
    }
  }

  @Test
  void positiveValuesWithImplicitZerosHaveMinZero() {
    MomentAccumulator acc = new MomentAccumulator(2);
    acc.addSparse(new int[] {0}, new double[] {5});
    acc.addSparse(new int[] {0}, new double[] {6});
    acc.addSparse(new int[] {}, new double[] {});
    assertEquals(0.0, acc.moments(0).min());
    assertEquals(6.0, acc.moments(0).max());
    assertEquals(3, acc.moments(1).count());
    assertEquals(0.0, acc.moments(1).max());
  }

  @Test
  void rejectsMismatchedShapes() {
    MomentAccumulator acc = new MomentAccumulator(3);
    assertThrows(IllegalArgumentException.class, () -> acc.addDense(new double[2]));
    assertThrows(IllegalArgumentException.class, () -> acc.merge(new MomentAccumulator(4)));
    assertThrows(IllegalArgumentException.class, () -> new MomentAccumulator(-1));
    assertThrows(IndexOutOfBoundsException.class, () -> acc.moments(3));
  }
}
