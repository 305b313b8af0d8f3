package io.normstats.minibatch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.normstats.testing.SequentialBatchNorm;
import io.normstats.testing.SequentialBatchNorm.Estimate;
import io.normstats.testing.SequentialBatchNorm.Run;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

/**
 * The folded, segment-summed estimators against a step-by-step simulation of training
 * ({@link SequentialBatchNorm}), with the batches folded by several "tasks" over random ranges of
 * positions and merged.
 */
class ComparisonTest {
  private static final double EST_TOL = 1e-12;
  private static final double DERIVED_TOL = 1e-9;

  static List<CompareSettings> settings() {
    return List.of(
        // shuffled, 2 epochs, drop last
        CompareSettings.builder(2, 5, 16).epochs(2).seed(7).tracePoints(7).build(),
        // input order, 3 epochs, keep last, other momenta, tight renorm limits
        CompareSettings.builder(3, 10, 64)
            .epochs(3).shuffle(false).dropLast(false).momentum(0.3).kerasMomentum(0.9).epsilon(1e-3)
            .tracePoints(5).renormRmax(1.5).renormDmax(0.5).build(),
        // one epoch, momentum 1 (the last batch only), more trace points than steps
        CompareSettings.builder(7)
            .seed(123).dropLast(false).momentum(1.0).kerasMomentum(0.0).epsilon(0).tracePoints(500)
            .build());
  }

  @ParameterizedTest
  @MethodSource("settings")
  void foldedEstimatesMatchSequentialTraining(CompareSettings s) {
    foldedEstimatesMatchSequentialTraining(s, SequentialBatchNorm.sampleRows(103, 42));
  }

  /**
   * 8-bit rows (pixels: a blob, uniform noise, a trend, a nearly flat patch) take the one-pass
   * exact-sum kernel; every seventh row has a half-integer value, so batches with it take the
   * general kernel, and both kinds meet in one run.
   */
  @ParameterizedTest
  @MethodSource("settings")
  void foldedEstimatesOf8BitRowsMatchSequentialTraining(CompareSettings s) {
    Random r = new Random(8);
    double[][] rows = new double[103][4];
    for (int i = 0; i < rows.length; i++) {
      rows[i][0] = Math.max(0, Math.min(255, Math.rint(120 + 40 * r.nextGaussian())));
      rows[i][1] = r.nextInt(256);
      rows[i][2] = Math.min(255, i * 2 + r.nextInt(20));
      rows[i][3] = 200 + r.nextInt(5);
      if (i % 7 == 3) {
        rows[i][1] += 0.5;
      }
    }
    foldedEstimatesMatchSequentialTraining(s, rows);
  }

  private static void foldedEstimatesMatchSequentialTraining(CompareSettings s, double[][] rows) {
    Estimate exactRef = SequentialBatchNorm.exact(rows);
    DatasetMoments exact = new DatasetMoments(exactRef.mean(), exactRef.var(), s.epsilon());
    List<String> names = List.of("a", "b", "trend", "offset");
    for (long split : new long[] {1, 2, 3}) {
      Comparison.Result result = Comparison.assemble(names, exact, s,
          fold(rows, s, exact, new Random(split), (int) split * 3));
      for (int m : s.batchSizes()) {
        Run ref = SequentialBatchNorm.run(rows, m, s);
        check(result, ref, exact, s, names);
      }
      if (!s.shuffle()) { // the unshuffled trend makes renorm clip, so its branch is checked too
        assertTrue(result.gaps().stream().anyMatch(g -> g.clipFraction() > 0 && g.renormMseMean() > 0));
      }
    }
  }

  private static void check(Comparison.Result result, Run ref, DatasetMoments exact,
      CompareSettings s, List<String> names) {
    int m = ref.batchSize();
    BatchSchedule schedule = result.schedules().stream().filter(x -> x.batchSize() == m)
        .findFirst().orElseThrow();
    assertEquals(ref.steps(), schedule.steps(), "steps at m=" + m);
    assertEquals(ref.batchesPerEpoch(), schedule.batchesPerEpoch());
    for (Comparison.EstimatorResult r : result.results()) {
      if (r.batchSize() != m) {
        continue;
      }
      Estimate e = switch (r.estimator()) {
        case EMA_TORCH -> ref.torch();
        case EMA_KERAS -> ref.keras();
        case CMA -> ref.cma();
        case AVERAGE -> ref.average();
        case PRECISE -> ref.preciseAccurate();
        case BATCH -> new Estimate(ref.batchMean(), ref.batchVar());
      };
      for (int j = 0; j < names.size(); j++) {
        FeatureErrors fe = r.features().get(j);
        String what = r.estimator().wireName() + " m=" + m + " feature " + names.get(j);
        assertEquals(names.get(j), fe.name());
        near(e.mean()[j], fe.mean(), EST_TOL, what + " mean");
        near(e.var()[j], fe.var(), EST_TOL, what + " var");
        double mu = exact.mean(j);
        double v = exact.variance(j);
        if (r.estimator() == Estimator.PRECISE && Math.abs(mu) < 10 * Math.sqrt(v)) {
          // fvcore's own float formula E[x^2] - E[x]^2 agrees where it does not cancel badly
          near(ref.precise().mean()[j], fe.mean(), EST_TOL, what + " mean (fvcore formula)");
          near(ref.precise().var()[j], fe.var(), 1e-11, what + " var (fvcore formula)");
        }
        if (r.estimator() == Estimator.BATCH) {
          near(ref.batchMeanRms()[j], fe.meanAbsErr(), DERIVED_TOL, what + " mean rms");
          near(ref.batchVarRms()[j], fe.varAbsErr(), DERIVED_TOL, what + " var rms");
          near(ref.batchKl()[j], fe.kl(), 1e-8, what + " kl");
        } else {
          // the reference's own rounding is a few ulp of mu, hence the absolute floor
          near(Math.abs(e.mean()[j] - mu), fe.meanAbsErr(), DERIVED_TOL, 1e-13 * Math.abs(mu),
              what + " mean_abs_err");
          near(Math.abs(e.var()[j] - v), fe.varAbsErr(), DERIVED_TOL, 1e-13 * v, what + " var_abs_err");
          near(e.var()[j] / v, fe.varRatio(), DERIVED_TOL, what + " var_ratio");
          double kl = SequentialBatchNorm.kl(mu, v + s.epsilon(), e.mean()[j], e.var()[j] + s.epsilon());
          // the textbook formula squares the reference's (mu - mean), which carries that rounding
          near(kl, fe.kl(), 1e-6, 1e-15, what + " kl");
          near((mu - e.mean()[j]) / Math.sqrt(e.var()[j] + s.epsilon()), fe.outputMean(),
              DERIVED_TOL, 1e-13 * Math.abs(mu), what + " output_mean");
          near(v / (e.var()[j] + s.epsilon()), fe.outputVar(), DERIVED_TOL, what + " output_var");
        }
        near(fe.meanAbsErr() / Math.sqrt(v), fe.meanErrInStd(), 1e-15, what + " in std");
      }
    }
    for (Comparison.Trace t : result.traces()) {
      if (t.batchSize() != m) {
        continue;
      }
      Estimate[] trace = switch (t.estimator()) {
        case EMA_TORCH -> ref.torchTrace();
        case EMA_KERAS -> ref.kerasTrace();
        case CMA -> ref.cmaTrace();
        default -> throw new AssertionError(t.estimator());
      };
      assertEquals(trace.length, t.points().size(), "trace points");
      for (int k = 0; k < trace.length; k++) {
        Comparison.TracePoint p = t.points().get(k);
        assertEquals(ref.checkpoints()[k], p.step());
        double[] inStd = new double[names.size()];
        double[] rel = new double[names.size()];
        for (int j = 0; j < names.size(); j++) {
          inStd[j] = Math.abs(trace[k].mean()[j] - exact.mean(j)) / Math.sqrt(exact.variance(j));
          rel[j] = Math.abs(trace[k].var()[j] - exact.variance(j)) / exact.variance(j);
        }
        Arrays.sort(inStd);
        Arrays.sort(rel);
        String what = t.estimator().wireName() + " m=" + m + " step " + p.step();
        // the reference's running means carry rounding of a few ulp of mu
        double floor = 0;
        for (int j = 0; j < names.size(); j++) {
          floor = Math.max(floor, 1e-13 * Math.abs(exact.mean(j)) / Math.sqrt(exact.variance(j)));
        }
        near(inStd[inStd.length - 1], p.meanErrInStd().max(), DERIVED_TOL, floor, what + " max");
        near((inStd[1] + inStd[2]) / 2, p.meanErrInStd().median(), DERIVED_TOL, floor,
            what + " median");
        near(rel[rel.length - 1], p.varRelErr().max(), DERIVED_TOL, what + " var max");
        near((rel[1] + rel[2]) / 2, p.varRelErr().median(), DERIVED_TOL, what + " var median");
      }
    }
    Comparison.BatchDistribution dist = result.batchDistributions().stream()
        .filter(d -> d.batchSize() == m).findFirst().orElseThrow();
    checkQuantiles(ref.pairMeanErrInStd(), dist.meanErrInStd(), "mean m=" + m);
    checkQuantiles(ref.pairVarRelErr(), dist.varRelErr(), "var m=" + m);
    Comparison.Gap gap = result.gaps().stream().filter(g -> g.batchSize() == m).findFirst()
        .orElseThrow();
    for (int j = 0; j < names.size(); j++) {
      Comparison.FeatureGap g = gap.features().get(j);
      near(ref.bnGap()[j], g.bnMse(), 1e-8, "bn gap m=" + m + " feature " + j);
      // unclipped, renorm equals prediction mode: 0 here, rounding noise in the row-by-row reference
      near(ref.renormGap()[j], g.renormMse(), 1e-8, 1e-20, "renorm gap m=" + m + " feature " + j);
      near(ref.clipFraction()[j], g.clipFraction(), 0, "clip fraction m=" + m + " feature " + j);
    }
  }

  /** Each quantile bound is at or above the true quantile and at most one bin (12%) above it. */
  private static void checkQuantiles(double[] pairs, ErrorHistogram h, String what) {
    double[] sorted = pairs.clone();
    Arrays.sort(sorted);
    assertEquals(sorted.length, h.defined(), what + " pairs");
    assertEquals(sorted[sorted.length - 1], h.max(), 1e-12 * sorted[sorted.length - 1], what);
    for (double p : new double[] {0.5, 0.9, 0.99}) {
      double truth = sorted[(int) Math.ceil(p * sorted.length) - 1];
      double bound = h.quantileUpperBound(p);
      assertTrue(bound >= truth * (1 - 1e-12) && bound <= Math.max(truth * 1.1221, 1e-8),
          what + " p" + p + ": " + truth + " bounded by " + bound);
    }
  }

  /** Folds the run's batches in {@code tasks} random position ranges and merges the results. */
  static List<EstimateAccumulator> fold(double[][] rows, CompareSettings s, DatasetMoments exact,
      Random random, int tasks) {
    int n = rows.length;
    List<BatchSchedule> schedules = new ArrayList<>();
    for (int m : s.batchSizes()) {
      schedules.add(new BatchSchedule(n, m, s.epochs(), s.dropLast(), s.tracePoints()));
    }
    long positions = MinibatchFolder.positions(n, s);
    double[][] byPosition = new double[(int) positions][];
    for (int c = 0; c < positions / n; c++) {
      Permutation perm = s.shuffle() ? new Permutation(n, s.seed(), c) : null;
      for (int g = 0; g < n; g++) {
        byPosition[(int) MinibatchFolder.position(g, c, n, perm)] = rows[g];
      }
    }
    long[] cuts = IntStream.concat(IntStream.of(0, (int) positions),
        random.ints(tasks - 1, 0, (int) positions)).distinct().sorted().asLongStream().toArray();
    List<EstimateAccumulator> merged = null;
    for (int t = 0; t + 1 < cuts.length; t++) {
      MinibatchFolder folder = new MinibatchFolder(exact, s, schedules, cuts[t], cuts[t + 1]);
      long end = Math.min(positions, cuts[t + 1] + s.maxBatchSize() - 1);
      assertEquals(end, folder.end());
      List<Long> order = new ArrayList<>();
      for (long q = cuts[t]; q < end; q++) {
        order.add(q);
      }
      java.util.Collections.shuffle(order, random); // a shuffle delivers rows in any order
      for (long q : order) {
        folder.accept(q, byPosition[(int) q]);
      }
      List<EstimateAccumulator> part = folder.finish();
      if (merged == null) {
        merged = part;
      } else {
        for (int i = 0; i < part.size(); i++) {
          merged.get(i).merge(part.get(i));
        }
      }
    }
    return merged;
  }

  static void near(double expected, double actual, double relTol, String what) {
    near(expected, actual, relTol, 0, what);
  }

  static void near(double expected, double actual, double relTol, double absTol, String what) {
    if (Double.isNaN(expected)) {
      assertTrue(Double.isNaN(actual), what + ": expected NaN, got " + actual);
      return;
    }
    double tol = Math.max(relTol * Math.abs(expected), absTol);
    assertTrue(Math.abs(expected - actual) <= tol || expected == actual,
        what + ": expected " + expected + ", got " + actual + " (tolerance " + tol + ")");
  }

  @Test
  void aFolderRefusesMissingRepeatedAndStrayRows() {
    double[][] rows = SequentialBatchNorm.sampleRows(20, 1);
    CompareSettings s = CompareSettings.builder(4).shuffle(false).tracePoints(5).build();
    Estimate ref = SequentialBatchNorm.exact(rows);
    DatasetMoments exact = new DatasetMoments(ref.mean(), ref.var(), 1e-5);
    MinibatchFolder folder = new MinibatchFolder(exact, s,
        List.of(new BatchSchedule(20, 4, 1, true, 5)), 0, 8);
    assertEquals(11, folder.end());
    folder.accept(0, rows[0]);
    folder.accept(2, rows[2]);
    assertThrows(IllegalStateException.class, () -> folder.accept(2, rows[2]));
    assertThrows(IllegalStateException.class, () -> folder.accept(11, rows[11]));
    for (int q = 3; q < 11; q++) {
      folder.accept(q, rows[q]);
    }
    IllegalStateException missing = assertThrows(IllegalStateException.class, folder::finish);
    assertEquals("position 1 missing (batch size 4)", missing.getMessage());
    // the overlap past the last owned batch is not needed
    MinibatchFolder whole = new MinibatchFolder(exact, s,
        List.of(new BatchSchedule(20, 4, 1, true, 5)), 4, 8);
    for (int q = 4; q < 8; q++) {
      whole.accept(q, rows[q]);
    }
    assertEquals(1, whole.finish().get(0).batches());
  }
}
