package io.normstats.onnx;

import static io.normstats.testing.ExactOracle.assertFloatMoments;
import static io.normstats.testing.ExactOracle.assertNearest;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.normstats.InputException;
import io.normstats.exact.ExactMoments;
import io.normstats.testing.ExactOracle;
import java.math.BigDecimal;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class ActivationMomentsTest {

  /**
   * n items of H x W positions of C channels, channels-last ([n, HW, C], as the passes capture
   * them): channel c offset by 100 c, so channels cannot be mixed up.
   */
  private static float[] tensor(SplittableRandom rnd, int n, int c, int hw) {
    float[] t = new float[n * c * hw];
    for (int i = 0; i < n; i++) {
      for (int p = 0; p < hw; p++) {
        for (int ch = 0; ch < c; ch++) {
          t[(i * hw + p) * c + ch] = (float) (100 * ch + rnd.nextGaussian() * (1 + ch));
        }
      }
    }
    return t;
  }

  /** The values of channel ch over all items and positions. */
  private static double[] channel(float[] t, int n, int c, int hw, int ch) {
    double[] v = new double[n * hw];
    for (int i = 0; i < n; i++) {
      for (int p = 0; p < hw; p++) {
        v[i * hw + p] = t[(i * hw + p) * c + ch];
      }
    }
    return v;
  }

  @Test
  void perChannelMomentsOverItemsAndPositions() {
    SplittableRandom rnd = new SplittableRandom(1);
    int n = 37;
    int c = 5;
    int hw = 6 * 7;
    float[] t = tensor(rnd, n, c, hw);
    // in batches of 10 (the last one of 7), from batch tensors with 3 padding items each
    ActivationMoments m = new ActivationMoments(new String[] {"bn"});
    for (int start = 0; start < n; start += 10) {
      int rows = Math.min(10, n - start);
      float[] batch = new float[(rows + 3) * c * hw];
      System.arraycopy(t, start * c * hw, batch, 0, rows * c * hw);
      java.util.Arrays.fill(batch, rows * c * hw, batch.length, 1e30f); // padding, never read
      m.addChannelsLast(0, new long[] {rows + 3, hw, c}, batch, rows);
    }
    assertEquals(n, m.items(0));
    assertArrayEquals(new long[] {c, hw}, m.itemShape(0));
    ExactMoments[] e = m.exact(0);
    assertEquals(c, e.length);
    for (int ch = 0; ch < c; ch++) {
      double[] values = channel(t, n, c, hw, ch);
      ExactOracle.Exact oracle = ExactOracle.Exact.of(values);
      assertEquals(n * hw, e[ch].count());
      assertNearest(oracle.sum(), BigDecimal.valueOf(n * hw), e[ch].mean(), "mean " + ch);
      BigDecimal nn = BigDecimal.valueOf((long) n * hw * n * hw);
      assertNearest(oracle.varianceNumerator(), nn, e[ch].varPop(), "var_pop " + ch);
      assertFloatMoments(values, e[ch].meanToFloat(), e[ch].varSampToFloat(), true, "f" + ch);
    }
  }

  @Test
  void anySplitIntoTasksGivesTheSameBits() {
    SplittableRandom rnd = new SplittableRandom(2);
    float[] t = tensor(rnd, 50, 3, 4);
    ActivationMoments whole = new ActivationMoments(new String[] {"bn"});
    whole.addChannelsLast(0, new long[] {50, 4, 3}, t, 50);
    ActivationMoments a = new ActivationMoments(new String[] {"bn"});
    ActivationMoments b = new ActivationMoments(new String[] {"bn"});
    ActivationMoments empty = new ActivationMoments(new String[] {"bn"});
    a.addChannelsLast(0, new long[] {13, 4, 3}, java.util.Arrays.copyOfRange(t, 0, 13 * 12), 13);
    b.addChannelsLast(0, new long[] {37, 4, 3}, java.util.Arrays.copyOfRange(t, 13 * 12, 50 * 12),
        37);
    ActivationMoments merged = empty.merge(b).merge(a);
    for (int ch = 0; ch < 3; ch++) {
      ExactMoments x = whole.exact(0)[ch];
      ExactMoments y = merged.exact(0)[ch];
      assertEquals(x.mean(), y.mean());
      assertEquals(x.varPop(), y.varPop());
      assertEquals(x.varSampToFloat(), y.varSampToFloat());
    }
  }

  @Test
  void oneDimensionalInputsAreOneStatisticPerElement() {
    ActivationMoments m = new ActivationMoments(new String[] {"bn1d"});
    float[] t = {1, 10, 2, 20, 3, 30, 4, 40};
    m.addChannelsLast(0, new long[] {4, 1, 2}, t, 4); // [N, C] as [N, 1, C]
    assertEquals(2.5, m.exact(0)[0].mean());
    assertEquals(1.25, m.exact(0)[0].varPop());
    assertEquals(25.0, m.exact(0)[1].mean());
    assertEquals(125.0, m.exact(0)[1].varPop());
  }

  @Test
  void nonFiniteActivationsAndShapeChangesAreErrors() {
    ActivationMoments m = new ActivationMoments(new String[] {"/bn1/BatchNormalization"});
    m.addChannelsLast(0, new long[] {2, 1, 2}, new float[] {1, Float.NaN, 2,
        Float.POSITIVE_INFINITY}, 2);
    InputException e = assertThrows(InputException.class, () -> m.exact(0));
    assertEquals("the input of /bn1/BatchNormalization has 2 NaN or infinite values (an input row "
        + "with NaN or infinities, or an overflow in the network)", e.getMessage());
    assertThrows(InputException.class,
        () -> m.addChannelsLast(0, new long[] {1, 1, 3}, new float[3], 1));
    ActivationMoments none = new ActivationMoments(new String[] {"bn"});
    assertThrows(InputException.class, () -> none.exact(0));
  }
}
