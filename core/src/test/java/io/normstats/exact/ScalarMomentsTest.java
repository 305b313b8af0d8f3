package io.normstats.exact;

import static io.normstats.testing.ExactOracle.assertMoments;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The one-column SQL aggregate state against the BigDecimal oracle, merged and serialized. */
class ScalarMomentsTest {

  private static FeatureMoments moments(ScalarMoments m) {
    return new FeatureMoments(m.count(), m.mean(), m.varPop(), m.varSamp(), m.stdPop(),
        m.stdSamp(), m.min(), m.max(), m.nullCount(), m.nanCount());
  }

  /** Adversarial columns: offsets, big integers, huge values whose squares overflow, subnormals. */
  static List<double[]> columns() {
    SplittableRandom r = new SplittableRandom(16);
    List<double[]> out = new ArrayList<>();
    int n = 2000;
    double[] offset = new double[n];
    double[] bigInts = new double[n];
    double[] huge = new double[n];
    double[] subnormal = new double[n];
    double[] mixed = new double[n];
    for (int i = 0; i < n; i++) {
      offset[i] = 1e9 + r.nextDouble();
      bigInts[i] = 0x1p50 + r.nextInt(-1000, 1000);
      huge[i] = 1e160 * (1 + r.nextDouble()) * (r.nextBoolean() ? 1 : -1);
      subnormal[i] = r.nextDouble(-1, 1) * 1e-310;
      mixed[i] = switch (i % 4) {
        case 0 -> -1e9 - r.nextDouble();
        case 1 -> r.nextDouble() * 1e-300;
        case 2 -> 1e200 * r.nextDouble();
        default -> -r.nextInt(1, 100);
      };
    }
    out.add(offset);
    out.add(bigInts);
    out.add(huge);
    out.add(subnormal);
    out.add(mixed);
    out.add(new double[] {-3.0});
    out.add(new double[] {-1e9 - 0.5, -1e9 - 0.25, -1e9});
    return out;
  }

  @Test
  void everyStatisticIsCorrectlyRoundedWhateverTheSplitsAndSerialization() {
    SplittableRandom r = new SplittableRandom(5);
    for (double[] values : columns()) {
      ScalarMoments whole = new ScalarMoments();
      for (double x : values) {
        whole.add(x);
      }
      assertMoments(values, moments(whole), "whole, first " + values[0]);
      // random parts, each serialized and read back, merged in random order
      List<ScalarMoments> parts = new ArrayList<>();
      ScalarMoments part = new ScalarMoments();
      for (double x : values) {
        part.add(x);
        if (r.nextInt(40) == 0) {
          parts.add(ScalarMoments.fromBytes(part.toBytes()));
          part = new ScalarMoments();
        }
      }
      parts.add(ScalarMoments.fromBytes(part.toBytes()));
      ScalarMoments merged = new ScalarMoments();
      while (!parts.isEmpty()) {
        merged.merge(parts.remove(r.nextInt(parts.size())));
      }
      FeatureMoments a = moments(whole);
      FeatureMoments b = moments(ScalarMoments.fromBytes(merged.toBytes()));
      assertEquals(a, b, "the same bits, first value " + values[0]);
    }
  }

  @Test
  void sqlSemanticsForNullsNanInfinitiesAndFewValues() {
    ScalarMoments empty = new ScalarMoments();
    empty.addNull();
    assertTrue(empty.isEmpty());
    assertEquals(1, empty.nullCount());
    assertTrue(Double.isNaN(empty.mean()) && Double.isNaN(empty.min()));
    ScalarMoments one = new ScalarMoments();
    one.add(2.5);
    assertEquals(2.5, one.mean());
    assertEquals(0.0, one.varPop());
    assertTrue(Double.isNaN(one.varSamp()), "var_samp of one value is undefined");
    ScalarMoments nan = new ScalarMoments();
    nan.add(1);
    nan.add(Double.NaN);
    nan.add(Double.POSITIVE_INFINITY);
    nan.addNull();
    assertEquals(3, nan.count());
    assertEquals(2, nan.nanCount());
    assertTrue(Double.isNaN(nan.mean()) && Double.isNaN(nan.varPop()));
    assertEquals(1.0, nan.min());
    assertTrue(Double.isNaN(nan.max()), "NaN sorts above +Infinity, as in Spark");
    ScalarMoments inf = new ScalarMoments();
    inf.add(Double.NEGATIVE_INFINITY);
    inf.add(3);
    assertEquals(Double.NEGATIVE_INFINITY, inf.min());
    assertEquals(3.0, inf.max());
    assertTrue(Double.isNaN(inf.varPop()));
    assertEquals(moments(nan), moments(ScalarMoments.fromBytes(nan.toBytes())));
  }

  @Test
  void smallGroupsStaySmall() {
    ScalarMoments three = new ScalarMoments();
    for (double x : new double[] {1e9 + 0.25, 1e9 + 0.5, 1e9 + 1.0}) {
      three.add(x);
    }
    int size = three.toBytes().length;
    assertEquals(three.serializedSize(), size);
    assertTrue(size <= 64, "3 values near 1e9 in " + size + " bytes");
    ScalarMoments many = new ScalarMoments();
    SplittableRandom r = new SplittableRandom(1);
    for (int i = 0; i < 100_000; i++) {
      many.add(r.nextDouble(-1e6, 1e6));
    }
    assertTrue(many.toBytes().length <= 200, "100,000 values in " + many.toBytes().length);
  }

  @Test
  void anotherFormatVersionIsRefused() {
    byte[] bytes = new ScalarMoments().toBytes();
    bytes[0] = 9;
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> ScalarMoments.fromBytes(bytes));
    assertTrue(e.getMessage().contains("format version 9"), e.getMessage());
  }

  @Test
  void anAccumulatorsStateGivesItsMomentsAndMergesExactly() {
    SplittableRandom r = new SplittableRandom(8);
    MomentAccumulator a = new MomentAccumulator(3);
    MomentAccumulator b = new MomentAccumulator(3);
    MomentAccumulator both = new MomentAccumulator(3);
    for (int i = 0; i < 3000; i++) {
      double[] row = {1e9 + r.nextDouble(), 0x1p50 + r.nextInt(-1000, 1000),
          i % 100 == 0 ? Double.NaN : -1e160 * r.nextDouble()};
      MomentAccumulator part = i % 3 == 0 ? a : b;
      part.addDense(row);
      both.addDense(row.clone());
    }
    for (int j = 0; j < 3; j++) {
      ScalarMoments sa = ScalarMoments.fromBytes(a.state(j).toBytes());
      assertEquals(a.moments(j), sa.toFeatureMoments(), "feature " + j);
      sa.merge(ScalarMoments.fromBytes(b.state(j).toBytes()));
      assertEquals(both.moments(j), sa.toFeatureMoments(), "merged, feature " + j);
    }
    // sparse rows: the implicit zeros count, and 0 enters min and max
    MomentAccumulator sparse = new MomentAccumulator(4);
    sparse.addSparse(new int[] {1}, new double[] {5.0});
    sparse.addSparse(new int[] {1, 3}, new double[] {-2.0, 7.0});
    for (int j = 0; j < 4; j++) {
      assertEquals(sparse.moments(j), sparse.state(j).toFeatureMoments(), "sparse " + j);
    }
  }
}
