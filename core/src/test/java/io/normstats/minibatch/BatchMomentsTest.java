package io.normstats.minibatch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.normstats.exact.Simd;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.MathContext;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Batch moments against BigDecimal, to 1e-13 relative, on data that defeats naive formulas. */
class BatchMomentsTest {
  @Test
  void accurateOnAdversarialBatches() {
    Random r = new Random(5);
    for (int trial = 0; trial < 300; trial++) {
      int m = 2 + r.nextInt(trial % 3 == 0 ? 2000 : 40);
      double[][] cols = {
          gen(r, m, 1e9, 10),          // a large offset against the spread
          gen(r, m, 0, 1),             // centred
          gen(r, m, -3e15, 1),         // integers near 2^53
          gen(r, m, 1e-300, 1e-305),   // tiny
          gen(r, m, 5, 1e-9),          // nearly constant
      };
      int f = cols.length;
      double[] rows = new double[m * f];
      double[] mu = new double[f];
      for (int j = 0; j < f; j++) {
        for (int i = 0; i < m; i++) {
          rows[i * f + j] = cols[j][i];
        }
        mu[j] = cols[j][0] + (r.nextDouble() - 0.5) * Math.abs(cols[j][0]) * 1e-6; // any centre
      }
      double[] delta = new double[f];
      double[] var = new double[f];
      new BatchMoments(f).compute(rows, m, mu, delta, var);
      for (int j = 0; j < f; j++) {
        BigDecimal[] exact = exact(cols[j]);
        double expectedMean = exact[0].doubleValue();
        double expectedDelta = exact[0].subtract(new BigDecimal(mu[j])).doubleValue();
        double expectedVar = exact[1].doubleValue();
        String what = "trial " + trial + " column " + j + " m=" + m;
        assertEquals(expectedDelta, delta[j], 1e-13 * Math.abs(expectedDelta) + 1e-300, what + " delta");
        // mu_B = mu + delta is one rounding: good to 1e-13 of itself, or an ulp of mu if mu is much larger
        assertEquals(expectedMean, mu[j] + delta[j],
            Math.max(1e-13 * Math.abs(expectedMean), 2.3e-16 * Math.abs(mu[j])), what + " mean");
        assertEquals(expectedVar, var[j], 1e-13 * expectedVar, what + " var");
      }
    }
  }

  /**
   * The SIMD kernel against the value-by-value code, bit for bit: widths around the 4- and 8-lane
   * steps, batch sizes 1 to 600, and columns with offsets, constants, signed zeros, subnormals,
   * huge values, infinities and NaN (any NaN equals any NaN: Java leaves the payload open).
   */
  @Test
  void simdAndValueByValueGiveIdenticalBits() {
    assertTrue(Simd.available(), "the SIMD kernel is not available in this JVM");
    Random r = new Random(11);
    int[] widths = {4, 5, 7, 8, 9, 12, 13, 16, 17, 31, 784};
    int[] sizes = {1, 2, 3, 8, 33, 128, 600};
    for (int width : widths) {
      for (int m : sizes) {
        double[] rows = new double[m * width + 3];
        double[] mu = new double[width];
        for (int j = 0; j < width; j++) {
          int kind = (j * 7 + m) % 10;
          for (int i = 0; i < m; i++) {
            rows[3 + i * width + j] = switch (kind) {
              case 0 -> 1e9 + r.nextGaussian() * 10;
              case 1 -> 2.5;                                            // constant
              case 2 -> r.nextBoolean() ? 0.0 : -0.0;                   // signed zeros
              case 3 -> Double.MIN_VALUE * r.nextInt(1000);             // subnormal
              case 4 -> (r.nextBoolean() ? 1 : -1) * 1e300 * r.nextDouble(); // huge
              case 5 -> i == m / 2 ? Double.NaN : r.nextGaussian();
              case 6 -> i == m - 1 ? Double.POSITIVE_INFINITY : r.nextGaussian();
              case 7 -> r.nextInt(256);                                 // pixels
              case 8 -> i % 2 == 0 ? 1e6 : 1e6 + 1e-3;                  // far from the centre
              default -> r.nextGaussian() * 1e-3 + 5;
            };
          }
          mu[j] = kind == 8 ? 0 : kind == 2 ? 0.0 : rows[3 + j] + r.nextGaussian();
        }
        double[][] out = new double[4][width];
        new BatchMoments(width, true).compute(rows, 3, m, mu, out[0], out[1]);
        new BatchMoments(width, false).compute(rows, 3, m, mu, out[2], out[3]);
        for (int j = 0; j < width; j++) {
          String what = "width " + width + " m=" + m + " feature " + j;
          assertEquals(Double.doubleToLongBits(out[2][j]),
              Double.doubleToLongBits(out[0][j]), what + " delta " + out[2][j] + " " + out[0][j]);
          assertEquals(Double.doubleToLongBits(out[3][j]),
              Double.doubleToLongBits(out[1][j]), what + " var " + out[3][j] + " " + out[1][j]);
        }
      }
    }
  }

  /**
   * The 8-bit kernel against exact rationals (BigInteger sums): the variance correctly rounded, the
   * offset from mu within an ulp; batches of 1 to 2,000 rows, widths around the 4-lane step,
   * centres
   * at, near and far from the batch mean, constant and saturated batches.
   */
  @Test
  void unsignedByteBatchesAgainstExactRationals() {
    Random r = new Random(12);
    int[] widths = {1, 3, 4, 5, 8, 13, 784};
    int[] sizes = {1, 2, 3, 7, 8, 100, 512, 2000};
    for (int width : widths) {
      for (int m : sizes) {
        double[] rows = new double[m * width + 5];
        double[] mu = new double[width];
        for (int j = 0; j < width; j++) {
          int kind = (j * 5 + m) % 6;
          for (int i = 0; i < m; i++) {
            rows[5 + i * width + j] = switch (kind) {
              case 0 -> 17;                                          // constant
              case 1 -> r.nextInt(2) * 255;                          // saturated
              case 2 -> Math.max(0, Math.min(255, Math.rint(128 + 50 * r.nextGaussian())));
              default -> r.nextInt(256);
            };
          }
          BigInteger s1 = BigInteger.ZERO;
          for (int i = 0; i < m; i++) {
            s1 = s1.add(BigInteger.valueOf((long) rows[5 + i * width + j]));
          }
          double batchMean = new BigDecimal(s1)
              .divide(BigDecimal.valueOf(m), MathContext.DECIMAL128).doubleValue();
          mu[j] = switch (j % 3) {
            case 0 -> batchMean;                                     // the offset cancels
            case 1 -> batchMean + r.nextGaussian() * 1e-7;
            default -> r.nextDouble() * 255;
          };
        }
        double[] delta = new double[width];
        double[] var = new double[width];
        double[] generalDelta = new double[width];
        double[] generalVar = new double[width];
        BatchMoments moments = new BatchMoments(width);
        moments.computeUnsignedBytes(rows, 5, m, mu, delta, var);
        moments.compute(rows, 5, m, mu, generalDelta, generalVar);
        for (int j = 0; j < width; j++) {
          String what = "width " + width + " m=" + m + " feature " + j;
          BigInteger s1 = BigInteger.ZERO;
          BigInteger s2 = BigInteger.ZERO;
          for (int i = 0; i < m; i++) {
            BigInteger x = BigInteger.valueOf((long) rows[5 + i * width + j]);
            s1 = s1.add(x);
            s2 = s2.add(x.multiply(x));
          }
          BigInteger mm = BigInteger.valueOf((long) m * m);
          BigDecimal exactVar = new BigDecimal(s2.multiply(BigInteger.valueOf(m))
              .subtract(s1.multiply(s1))).divide(new BigDecimal(mm), MathContext.DECIMAL128);
          BigDecimal exactDelta = new BigDecimal(s1).divide(BigDecimal.valueOf(m),
              MathContext.DECIMAL128).subtract(new BigDecimal(mu[j]));
          assertTrue(new BigDecimal(var[j]).subtract(exactVar).abs()
              .compareTo(new BigDecimal(Math.ulp(var[j]) / 2 * (1 + 1e-9))) <= 0,
              what + " var " + var[j] + " exact " + exactVar);
          assertTrue(new BigDecimal(delta[j]).subtract(exactDelta).abs()
              .compareTo(new BigDecimal(Math.ulp(delta[j]))) <= 0,
              what + " delta " + delta[j] + " exact " + exactDelta);
          assertEquals(generalVar[j], var[j], 1e-13 * generalVar[j], what + " var, general kernel");
          assertEquals(generalDelta[j], delta[j], 1e-13 * Math.abs(generalDelta[j]),
              what + " delta, general kernel");
        }
      }
    }
    assertThrows(IllegalArgumentException.class, () -> new BatchMoments(1).computeUnsignedBytes(
        new double[1], 0, 0, new double[1], new double[1], new double[1]));
    assertThrows(IllegalArgumentException.class, () -> new BatchMoments(1).computeUnsignedBytes(
        new double[BatchMoments.MAX_UNSIGNED_BYTE_BATCH + 1], 0,
        BatchMoments.MAX_UNSIGNED_BYTE_BATCH + 1, new double[1], new double[1], new double[1]));
  }

  @Test
  void unsignedBytesAreTheIntegersFrom0To255() {
    assertTrue(BatchMoments.isUnsignedByte(0.0));
    assertTrue(BatchMoments.isUnsignedByte(255));
    assertTrue(BatchMoments.isUnsignedByte(17));
    for (double x : new double[] {-0.0, -1, 256, 0.5, 254.99999999999997, Double.NaN,
        Double.POSITIVE_INFINITY, 4294967296.0 + 3}) {
      assertTrue(!BatchMoments.isUnsignedByte(x), Double.toString(x));
    }
  }

  @Test
  void constantBatchesHaveZeroVariance() {
    double[] rows = {0.1, 7, 0.1, 7, 0.1, 7};
    double[] delta = new double[2];
    double[] var = new double[2];
    new BatchMoments(2).compute(rows, 3, new double[] {0.3, 6}, delta, var);
    assertEquals(0.0, var[0]);
    assertEquals(0.0, var[1]);
    assertEquals(0.1 - 0.3, delta[0]);
    assertEquals(1.0, delta[1]);
    assertTrue(var[0] == 0 && var[1] == 0);
  }

  private static double[] gen(Random r, int m, double centre, double spread) {
    double[] v = new double[m];
    for (int i = 0; i < m; i++) {
      v[i] = centre + (centre > 1e12 ? Math.rint(r.nextGaussian() * spread * 100) : r.nextGaussian() * spread);
    }
    return v;
  }

  private static BigDecimal[] exact(double[] v) {
    MathContext mc = new MathContext(60);
    BigDecimal sum = BigDecimal.ZERO;
    for (double x : v) {
      sum = sum.add(new BigDecimal(x));
    }
    BigDecimal mean = sum.divide(BigDecimal.valueOf(v.length), mc);
    BigDecimal ss = BigDecimal.ZERO;
    for (double x : v) {
      BigDecimal d = new BigDecimal(x).subtract(mean);
      ss = ss.add(d.multiply(d));
    }
    return new BigDecimal[] {mean, ss.divide(BigDecimal.valueOf(v.length), mc)};
  }
}
