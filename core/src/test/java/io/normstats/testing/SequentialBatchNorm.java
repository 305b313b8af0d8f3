package io.normstats.testing;

import io.normstats.minibatch.CompareSettings;
import io.normstats.minibatch.Permutation;
import java.math.BigDecimal;
import java.math.MathContext;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The oracle for the minibatch estimators: a plain, sequential simulation of training, written from
 * the frameworks' formulas and independent of the production code (which folds sums per segment and
 * per task). Batches are formed literally, their moments computed with BigDecimal, and the running
 * statistics updated step by step exactly as PyTorch, Keras, fvcore and Ioffe & Szegedy write them.
 * Training and prediction outputs are computed row by row.
 */
public final class SequentialBatchNorm {
  private static final MathContext MC = MathContext.DECIMAL128;

  private SequentialBatchNorm() {}

  /** One estimate of (mean, var) per feature. */
  public record Estimate(double[] mean, double[] var) {}

  /** What a simulated run gives for one batch size. */
  public record Run(int batchSize, long steps, long batchesPerEpoch, Estimate torch,
      Estimate keras, Estimate cma, Estimate average, Estimate precise, Estimate preciseAccurate,
      double[] batchMean, double[] batchVar, double[] batchMeanRms, double[] batchVarRms,
      double[] batchKl, long[] checkpoints, Estimate[] torchTrace, Estimate[] kerasTrace,
      Estimate[] cmaTrace, double[] bnGap, double[] renormGap, double[] clipFraction,
      double[] pairMeanErrInStd, double[] pairVarRelErr) {}

  /** The names of the columns of {@link #sampleRows}. */
  public static final java.util.List<String> SAMPLE_COLUMNS = java.util.List.of("a", "b", "trend", "offset");

  /**
   * Test data, N x 4: a Gaussian around 3; a uniform on [-2, 0); a trend along the rows (so that
   * unshuffled batches err and Batch Renormalization clips); 1e6 plus small integers (a large offset
   * against a small spread).
   */
  public static double[][] sampleRows(int n, long seed) {
    java.util.Random r = new java.util.Random(seed);
    double[][] rows = new double[n][4];
    for (int i = 0; i < n; i++) {
      rows[i][0] = 3 + r.nextGaussian();
      rows[i][1] = -2 + 2 * r.nextDouble();
      rows[i][2] = 0.5 + 5.0 * i / n + 0.3 * r.nextGaussian();
      rows[i][3] = 1e6 + r.nextInt(5);
    }
    return rows;
  }

  /** The exact mean and var_pop of each column of {@code rows}, rounded to double. */
  public static Estimate exact(double[][] rows) {
    int f = rows[0].length;
    double[] mean = new double[f];
    double[] var = new double[f];
    for (int j = 0; j < f; j++) {
      double[] col = new double[rows.length];
      for (int i = 0; i < rows.length; i++) {
        col[i] = rows[i][j];
      }
      BigDecimal[] mv = moments(col);
      mean[j] = mv[0].doubleValue();
      var[j] = mv[1].doubleValue();
    }
    return new Estimate(mean, var);
  }

  /** {mean, biased variance} of {@code values}, to 34 digits. */
  static BigDecimal[] moments(double[] values) {
    BigDecimal n = BigDecimal.valueOf(values.length);
    BigDecimal sum = BigDecimal.ZERO;
    for (double v : values) {
      sum = sum.add(new BigDecimal(v));
    }
    BigDecimal mean = sum.divide(n, MC);
    BigDecimal ss = BigDecimal.ZERO;
    for (double v : values) {
      BigDecimal d = new BigDecimal(v).subtract(mean);
      ss = ss.add(d.multiply(d));
    }
    return new BigDecimal[] {mean, ss.divide(n, MC)};
  }

  /**
   * The row indices of each training step's batch, in order: epoch by epoch, the rows ordered by
   * position (input order, or {@link Permutation}(n, seed, epoch) position of each input index),
   * cut into batches of m; the last partial batch dropped with dropLast, else kept if it has 2 rows
   * or more.
   */
  public static List<int[]> batches(int n, int m, CompareSettings s) {
    List<int[]> out = new ArrayList<>();
    for (int e = 0; e < s.epochs(); e++) {
      int[] rowAt = new int[n];
      if (s.shuffle()) {
        Permutation perm = new Permutation(n, s.seed(), e);
        boolean[] seen = new boolean[n];
        for (int g = 0; g < n; g++) {
          int p = (int) perm.apply(g);
          if (seen[p]) {
            throw new AssertionError("not a permutation");
          }
          seen[p] = true;
          rowAt[p] = g;
        }
      } else {
        for (int g = 0; g < n; g++) {
          rowAt[g] = g;
        }
      }
      for (int start = 0; start < n; start += m) {
        int size = Math.min(m, n - start);
        if (size < m && (s.dropLast() || size < 2)) {
          break;
        }
        out.add(Arrays.copyOfRange(rowAt, start, start + size));
      }
    }
    return out;
  }

  /** Simulates training with batch size {@code m} over {@code rows} (N x F). */
  public static Run run(double[][] rows, int m, CompareSettings s) {
    int n = rows.length;
    int f = rows[0].length;
    Estimate exact = exact(rows);
    List<int[]> batches = batches(n, m, s);
    int steps = batches.size();
    long perEpoch = steps / s.epochs();
    int points = Math.min(s.tracePoints(), steps);
    long[] checkpoints = new long[points];
    for (int k = 1; k <= points; k++) {
      checkpoints[k - 1] = (long) k * steps / points;
    }
    double a = s.momentum();
    double b = s.kerasMomentum();
    double eps = s.epsilon();
    double[] tm = new double[f];
    double[] tv = new double[f];
    double[] km = new double[f];
    double[] kv = new double[f];
    double[] cm = new double[f];
    double[] cv = new double[f];
    Arrays.fill(tv, 1);
    Arrays.fill(kv, 1);
    // fvcore _PopulationVarianceEstimator
    double[] popMean = new double[f];
    double[] popSquareMean = new double[f];
    long tot = 0;
    BigDecimal[] weightedMean = new BigDecimal[f];
    BigDecimal[] weightedSquare = new BigDecimal[f];
    Arrays.fill(weightedMean, BigDecimal.ZERO);
    Arrays.fill(weightedSquare, BigDecimal.ZERO);
    double[] sumMu = new double[f];
    double[] sumSigma2 = new double[f];
    double[] sumMuErr2 = new double[f];
    double[] sumVarErr2 = new double[f];
    double[] sumKl = new double[f];
    double[] bnGap = new double[f];
    double[] renormGap = new double[f];
    double[] clips = new double[f];
    Estimate[] torchTrace = new Estimate[points];
    Estimate[] kerasTrace = new Estimate[points];
    Estimate[] cmaTrace = new Estimate[points];
    int nextPoint = 0;
    double[] pairMean = new double[steps * f];
    double[] pairVar = new double[steps * f];
    for (int t = 0; t < steps; t++) {
      int[] batch = batches.get(t);
      int size = batch.length;
      double cmaFactor = 1.0 / (t + 1); // PyTorch momentum=None: 1 / num_batches_tracked
      BigDecimal[][] batchMoments = new BigDecimal[f][];
      for (int j = 0; j < f; j++) {
        double[] col = new double[size];
        for (int i = 0; i < size; i++) {
          col[i] = rows[batch[i]][j];
        }
        BigDecimal[] mv = moments(col);
        batchMoments[j] = mv;
        double mu = mv[0].doubleValue();
        double sigma2 = mv[1].doubleValue();
        double s2 = mv[1].multiply(BigDecimal.valueOf(size))
            .divide(BigDecimal.valueOf(size - 1), MC).doubleValue();
        // torch/nn/modules/batchnorm.py via F.batch_norm: running = (1 - momentum) * running + momentum * batch
        tm[j] = (1 - a) * tm[j] + a * mu;
        tv[j] = (1 - a) * tv[j] + a * s2;
        // keras BatchNormalization: moving = moving * momentum + batch * (1 - momentum)
        km[j] = km[j] * b + mu * (1 - b);
        kv[j] = kv[j] * b + sigma2 * (1 - b);
        cm[j] = (1 - cmaFactor) * cm[j] + cmaFactor * mu;
        cv[j] = (1 - cmaFactor) * cv[j] + cmaFactor * s2;
        sumMu[j] += mu;
        sumSigma2[j] += sigma2;
        sumMuErr2[j] += (mu - exact.mean[j]) * (mu - exact.mean[j]);
        sumVarErr2[j] += (sigma2 - exact.var[j]) * (sigma2 - exact.var[j]);
        sumKl[j] += kl(exact.mean[j], exact.var[j] + eps, mu, sigma2 + eps);
        pairMean[t * f + j] = Math.abs(mu - exact.mean[j]) / Math.sqrt(exact.var[j]);
        pairVar[t * f + j] = Math.abs(sigma2 - exact.var[j]) / exact.var[j];
        // training vs prediction output, row by row
        double sB = Math.sqrt(sigma2 + eps);
        double sigma = Math.sqrt(exact.var[j] + eps);
        double r = Math.min(Math.max(sB / sigma, 1 / s.renormRmax()), s.renormRmax());
        double d = Math.min(Math.max((mu - exact.mean[j]) / sigma, -s.renormDmax()), s.renormDmax());
        boolean clipped = sB / sigma < 1 / s.renormRmax() || sB / sigma > s.renormRmax()
            || Math.abs((mu - exact.mean[j]) / sigma) > s.renormDmax();
        double bnSq = 0;
        double rnSq = 0;
        for (double x : col) {
          double predict = (x - exact.mean[j]) / sigma;
          double train = (x - mu) / sB;
          double renorm = (x - mu) / sB * r + d;
          bnSq += (train - predict) * (train - predict);
          rnSq += (renorm - predict) * (renorm - predict);
        }
        bnGap[j] += bnSq / size;
        renormGap[j] += rnSq / size;
        clips[j] += clipped ? 1 : 0;
      }
      // fvcore precise_bn.py _PopulationVarianceEstimator.update(batch_mean, batch_var, batch_size),
      // batch_var being the unbiased variance BatchNorm wrote to running_var with momentum 1
      tot += size;
      for (int j = 0; j < f; j++) {
        BigDecimal[] mv = batchMoments[j];
        double batchMean = mv[0].doubleValue();
        double batchVar = mv[1].multiply(BigDecimal.valueOf(size))
            .divide(BigDecimal.valueOf(size - 1), MC).doubleValue();
        double batchSquareMean = batchMean * batchMean + batchVar * ((size - 1) / (double) size);
        popMean[j] += (batchMean - popMean[j]) * (size / (double) tot);
        popSquareMean[j] += (batchSquareMean - popSquareMean[j]) * (size / (double) tot);
        // the same estimator to 34 digits: sum m_B mu_B / W, sum m_B (mu_B^2 + sigma2_B) / W
        BigDecimal w = BigDecimal.valueOf(size);
        weightedMean[j] = weightedMean[j].add(w.multiply(mv[0]));
        weightedSquare[j] = weightedSquare[j].add(w.multiply(mv[0].multiply(mv[0]).add(mv[1])));
      }
      if (nextPoint < points && checkpoints[nextPoint] == t + 1) {
        torchTrace[nextPoint] = new Estimate(tm.clone(), tv.clone());
        kerasTrace[nextPoint] = new Estimate(km.clone(), kv.clone());
        cmaTrace[nextPoint] = new Estimate(cm.clone(), cv.clone());
        nextPoint++;
      }
    }
    double[] avgMean = new double[f];
    double[] avgVar = new double[f];
    double[] preciseVar = new double[f];
    double[] accurateMean = new double[f];
    double[] accurateVar = new double[f];
    double[] batchMeanRms = new double[f];
    double[] batchVarRms = new double[f];
    double[] batchKl = new double[f];
    double[] batchVar = new double[f];
    for (int j = 0; j < f; j++) {
      // Ioffe & Szegedy 2015, Algorithm 2: E[x] = E_B[mu_B], Var[x] = m/(m-1) E_B[sigma2_B]
      avgMean[j] = sumMu[j] / steps;
      avgVar[j] = (double) m / (m - 1) * (sumSigma2[j] / steps);
      preciseVar[j] = popSquareMean[j] - popMean[j] * popMean[j];
      BigDecimal total = BigDecimal.valueOf(tot);
      BigDecimal mean = weightedMean[j].divide(total, MC);
      accurateMean[j] = mean.doubleValue();
      accurateVar[j] = weightedSquare[j].divide(total, MC).subtract(mean.multiply(mean)).doubleValue();
      batchMeanRms[j] = Math.sqrt(sumMuErr2[j] / steps);
      batchVarRms[j] = Math.sqrt(sumVarErr2[j] / steps);
      batchKl[j] = sumKl[j] / steps;
      batchVar[j] = sumSigma2[j] / steps;
      bnGap[j] /= steps;
      renormGap[j] /= steps;
      clips[j] /= steps;
    }
    return new Run(m, steps, perEpoch, new Estimate(tm, tv), new Estimate(km, kv),
        new Estimate(cm, cv), new Estimate(avgMean, avgVar), new Estimate(popMean, preciseVar),
        new Estimate(accurateMean, accurateVar),
        avgMean.clone(), batchVar, batchMeanRms, batchVarRms, batchKl, checkpoints, torchTrace,
        kerasTrace, cmaTrace, bnGap, renormGap, clips, pairMean, pairVar);
  }

  /** KL(N(mu1, v1) || N(mu2, v2)), the textbook formula. */
  public static double kl(double mu1, double v1, double mu2, double v2) {
    return 0.5 * (Math.log(v2 / v1) + (v1 + (mu1 - mu2) * (mu1 - mu2)) / v2 - 1);
  }
}
