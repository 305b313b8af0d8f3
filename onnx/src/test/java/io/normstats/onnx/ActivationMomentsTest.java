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
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ActivationMomentsTest {

  /**
   * n items of C channels of S positions, channels-first ([n, C, S], as the network computes
   * them): channel c offset by 100 c, so channels cannot be mixed up.
   */
  private static float[] tensor(SplittableRandom rnd, int n, int c, int s) {
    float[] t = new float[n * c * s];
    for (int i = 0; i < n; i++) {
      for (int ch = 0; ch < c; ch++) {
        for (int p = 0; p < s; p++) {
          t[(i * c + ch) * s + p] = (float) (100 * ch + rnd.nextGaussian() * (1 + ch));
        }
      }
    }
    return t;
  }

  /** The values of channel ch over all items and positions. */
  private static double[] channel(float[] t, int n, int c, int s, int ch) {
    double[] v = new double[n * s];
    for (int i = 0; i < n; i++) {
      for (int p = 0; p < s; p++) {
        v[i * s + p] = t[(i * c + ch) * s + p];
      }
    }
    return v;
  }

  @ParameterizedTest(name = "{0} x {1} positions")
  @CsvSource({
      "6, 7", // 42 positions: items as rows of 5 channels of 42 values
      "6, 8", // 48: each channel's values summed where they are, as rows of 4 or 8 lanes
      "14, 14", // 196, a multiple of 4 but not of 8: with 8 lanes, each run's last 4 as rows
      "64, 72", // 4,608: a channel's run of an item is more than a flush window of rows
      "33, 33", // 1,089 positions: items of more than 512 values as rows
      "1, 1"}) // [N, C]
  void perChannelMomentsOverItemsAndPositions(int h, int w) {
    SplittableRandom rnd = new SplittableRandom(h * 100 + w);
    int n = h * w > 1000 ? 7 : 37;
    int c = 5;
    int hw = h * w;
    float[] t = tensor(rnd, n, c, hw);
    // in batches of 10 (the last one shorter), from batch tensors with 3 padding items each
    ActivationMoments m = new ActivationMoments(new String[] {"bn"});
    ActivationMoments doubles = new ActivationMoments(new String[] {"bn"});
    long[] itemShape = hw == 1 ? new long[] {c} : new long[] {c, h, w};
    for (int start = 0; start < n; start += 10) {
      int rows = Math.min(10, n - start);
      float[] batch = new float[(rows + 3) * c * hw];
      System.arraycopy(t, start * c * hw, batch, 0, rows * c * hw);
      java.util.Arrays.fill(batch, rows * c * hw, batch.length, 1e30f); // padding, never read
      long[] shape = new long[itemShape.length + 1];
      shape[0] = rows + 3;
      System.arraycopy(itemShape, 0, shape, 1, itemShape.length);
      m.add(0, shape, batch, rows);
      double[] wide = new double[batch.length];
      for (int i = 0; i < batch.length; i++) {
        wide[i] = batch[i];
      }
      doubles.add(0, shape, wide, rows);
    }
    assertEquals(n, m.items(0));
    assertEquals(n, doubles.items(0));
    assertArrayEquals(itemShape, m.itemShape(0));
    ExactMoments[] e = m.exact(0);
    assertEquals(c, e.length);
    for (int ch = 0; ch < c; ch++) {
      double[] values = channel(t, n, c, hw, ch);
      ExactOracle.Exact oracle = ExactOracle.Exact.of(values);
      assertEquals((long) n * hw, e[ch].count());
      assertNearest(oracle.sum(), BigDecimal.valueOf((long) n * hw), e[ch].mean(), "mean " + ch);
      BigDecimal nn = BigDecimal.valueOf((long) n * hw * n * hw);
      assertNearest(oracle.varianceNumerator(), nn, e[ch].varPop(), "var_pop " + ch);
      assertFloatMoments(values, e[ch].meanToFloat(), e[ch].varSampToFloat(), true, "f" + ch);
      assertEquals(e[ch].mean(), doubles.exact(0)[ch].mean());
      assertEquals(e[ch].varPop(), doubles.exact(0)[ch].varPop());
    }
  }

  @Test
  void anySplitIntoTasksGivesTheSameBits() {
    SplittableRandom rnd = new SplittableRandom(2);
    float[] t = tensor(rnd, 50, 3, 4);
    ActivationMoments whole = new ActivationMoments(new String[] {"bn"});
    whole.add(0, new long[] {50, 3, 4}, t, 50);
    ActivationMoments a = new ActivationMoments(new String[] {"bn"});
    ActivationMoments b = new ActivationMoments(new String[] {"bn"});
    ActivationMoments empty = new ActivationMoments(new String[] {"bn"});
    a.add(0, new long[] {13, 3, 4}, java.util.Arrays.copyOfRange(t, 0, 13 * 12), 13);
    b.add(0, new long[] {37, 3, 4}, java.util.Arrays.copyOfRange(t, 13 * 12, 50 * 12), 37);
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
  void itemsOfNoValuesAreCountedAndAddNothing() {
    ActivationMoments m = new ActivationMoments(new String[] {"bn"});
    m.add(0, new long[] {3, 2, 0}, new float[0], 3); // [N, C, 0]
    m.add(0, new long[] {2, 2, 0}, new double[0], 2);
    assertEquals(5, m.items(0));
    assertArrayEquals(new long[] {2, 0}, m.itemShape(0));
    assertEquals(0, m.exact(0)[0].count());
    assertEquals(0, m.exact(0)[1].count());
  }

  @Test
  void oneDimensionalInputsAreOneStatisticPerElement() {
    ActivationMoments m = new ActivationMoments(new String[] {"bn1d"});
    float[] t = {1, 10, 2, 20, 3, 30, 4, 40};
    m.add(0, new long[] {4, 2}, t, 4); // [N, C]
    assertEquals(2.5, m.exact(0)[0].mean());
    assertEquals(1.25, m.exact(0)[0].varPop());
    assertEquals(25.0, m.exact(0)[1].mean());
    assertEquals(125.0, m.exact(0)[1].varPop());
  }

  @Test
  void nonFiniteActivationsAndShapeChangesAreErrors() {
    ActivationMoments m = new ActivationMoments(new String[] {"/bn1/BatchNormalization"});
    m.add(0, new long[] {2, 2}, new float[] {1, Float.NaN, 2, Float.POSITIVE_INFINITY}, 2);
    InputException e = assertThrows(InputException.class, () -> m.exact(0));
    assertEquals("the input of /bn1/BatchNormalization has 2 NaN or infinite values (an input row "
        + "with NaN or infinities, or an overflow in the network)", e.getMessage());
    assertThrows(InputException.class,
        () -> m.add(0, new long[] {1, 3}, new float[3], 1));
    ActivationMoments none = new ActivationMoments(new String[] {"bn"});
    assertThrows(InputException.class, () -> none.exact(0));
  }
}
