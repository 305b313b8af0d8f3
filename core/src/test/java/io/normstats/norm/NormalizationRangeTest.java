package io.normstats.norm;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.math.BigDecimal;
import java.math.MathContext;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * LayerNorm and RMSNorm of rows near the ends of the double range, against BigDecimal: values up to
 * Double.MAX_VALUE normalize as in exact arithmetic (a naive double computation overflows the
 * variance or mean square and outputs zeros or NaN).
 */
class NormalizationRangeTest {
  private static final MathContext MC = MathContext.DECIMAL128;

  /** (x - mean) / sqrt(var_pop + eps) in BigDecimal. */
  private static double[] layerNorm(double[] x, double eps) {
    BigDecimal n = BigDecimal.valueOf(x.length);
    BigDecimal sum = BigDecimal.ZERO;
    for (double v : x) {
      sum = sum.add(new BigDecimal(v));
    }
    BigDecimal mean = sum.divide(n, MC);
    BigDecimal ss = BigDecimal.ZERO;
    for (double v : x) {
      BigDecimal d = new BigDecimal(v).subtract(mean);
      ss = ss.add(d.multiply(d));
    }
    BigDecimal std = ss.divide(n, MC).add(new BigDecimal(eps)).sqrt(MC);
    double[] y = new double[x.length];
    for (int i = 0; i < x.length; i++) {
      y[i] = new BigDecimal(x[i]).subtract(mean).divide(std, MC).doubleValue();
    }
    return y;
  }

  /** x / sqrt(mean(x^2) + eps) in BigDecimal. */
  private static double[] rmsNorm(double[] x, double eps) {
    BigDecimal ss = BigDecimal.ZERO;
    for (double v : x) {
      ss = ss.add(new BigDecimal(v).multiply(new BigDecimal(v)));
    }
    BigDecimal rms = ss.divide(BigDecimal.valueOf(x.length), MC).add(new BigDecimal(eps)).sqrt(MC);
    double[] y = new double[x.length];
    for (int i = 0; i < x.length; i++) {
      y[i] = new BigDecimal(x[i]).divide(rms, MC).doubleValue();
    }
    return y;
  }

  private static void assertClose(double[] expected, double[] actual, String what) {
    for (int i = 0; i < expected.length; i++) {
      assertEquals(expected[i], actual[i], 1e-14 * Math.max(1, Math.abs(expected[i])),
          what + " element " + i);
    }
  }

  private static double[] apply(VectorNormalization norm, double[] x) {
    double[] y = new double[x.length];
    norm.applier().apply(x, y);
    return y;
  }

  @Test
  void rowsNearDoubleMaxNormalizeAsInExactArithmetic() {
    double max = Double.MAX_VALUE;
    SplittableRandom r = new SplittableRandom(8);
    double[][] rows = {
        {max, 1},
        {max, -max, 0, max / 2},
        {max, max, max * 0.75},
        {1e300, 3e300, -2e300, 5e299},
        {2e154, 3e154, 2.5e154}, // the variance fits, the mean square does not
        {0x1p481, 1, 2, 3},
    };
    double[] random = new double[33];
    for (int i = 0; i < random.length; i++) {
      random[i] = r.nextDouble(-1, 1) * 1e307;
    }
    for (double[] x : concat(rows, random)) {
      for (double eps : new double[] {0, 1e-5}) {
        String what = java.util.Arrays.toString(x) + " eps " + eps;
        assertClose(layerNorm(x, eps),
            apply(new LayerNormalization(x.length, 1, x.length, eps, null, null), x), "LayerNorm " + what);
        assertClose(rmsNorm(x, eps), apply(new RmsNormalization(x.length, eps, null), x),
            "RMSNorm " + what);
      }
    }
  }

  @Test
  void groupsAreScaledIndependently() {
    double[] x = {Double.MAX_VALUE, 0, 1, 3};
    double[] y = apply(new LayerNormalization(4, 2, 4, 1e-5, null, null), x);
    assertClose(layerNorm(new double[] {x[0], x[1]}, 1e-5), new double[] {y[0], y[1]}, "group 0");
    assertClose(layerNorm(new double[] {x[2], x[3]}, 1e-5), new double[] {y[2], y[3]}, "group 1");
  }

  @Test
  void ordinaryRowsKeepTheirBits() {
    // Below 2^480 nothing is scaled: the same bits as PyTorch's formula computed directly.
    double[] x = {1.5, -2.25, 1e100, 3};
    double[] y = apply(new RmsNormalization(4, 1e-6, null), x);
    double ms = 0;
    double c = 0;
    for (double v : x) {
      double p = v * v;
      double t = ms + p;
      double w = t - ms;
      c += ((ms - (t - w)) + (p - w)) + Math.fma(v, v, -p);
      ms = t;
    }
    double rstd = 1 / Math.sqrt((ms + c) / 4 + 1e-6);
    for (int i = 0; i < 4; i++) {
      assertEquals(x[i] * rstd, y[i], 0.0);
    }
  }

  private static double[][] concat(double[][] rows, double[] extra) {
    double[][] all = java.util.Arrays.copyOf(rows, rows.length + 1);
    all[rows.length] = extra;
    return all;
  }
}
