package io.normstats.report;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.normstats.minibatch.CompareSettings;
import io.normstats.minibatch.Comparison;
import io.normstats.minibatch.Estimator;
import io.normstats.minibatch.FeatureErrors;
import io.normstats.minibatch.Spread;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * What the report tells a reader, on results built by hand: each sentence of {@link
 * Findings#readings} with numbers chosen so that the expected text can be written down, and the
 * features it points at.
 */
class FindingsTest {
  private static final int SMALL = 4;
  private static final int LARGE = 64;

  /** A feature's errors with only the two fields the readings use set; NaN for undefined. */
  private static FeatureErrors errors(int j, double meanErrInStd, double varRelErr) {
    return new FeatureErrors("f" + j, j, 0, 0, 0, 0, 0, 0, meanErrInStd, 0, varRelErr, 0, 0, 0,
        0);
  }

  /** An estimator's result at m whose summary medians are the given ones. */
  private static Comparison.EstimatorResult result(int m, Estimator e, double meanErrInStd,
      double varRelErr, List<FeatureErrors> features) {
    Map<String, Spread> summary = new LinkedHashMap<>();
    for (String metric : Comparison.SUMMARIZED.keySet()) {
      summary.put(metric, new Spread(0, 0, 0, features.size()));
    }
    summary.put("mean_err_in_std", new Spread(meanErrInStd, 0, 0, features.size()));
    summary.put("var_rel_err", new Spread(varRelErr, 0, 0, features.size()));
    return new Comparison.EstimatorResult(m, e, features, summary);
  }

  private static Comparison.Gap gap(int m, double bn, double renorm, double clip) {
    Spread none = new Spread(0, 0, 0, 0);
    return new Comparison.Gap(m, List.of(), bn, none, renorm, none, 0, 0, clip);
  }

  /**
   * Three features. Single minibatches: feature 2 errs most at the small size (feature 1 has no
   * variance). The moving averages: PyTorch's within 1% at 64 only, Keras' never.
   */
  private static Comparison.Result comparison() {
    List<Comparison.EstimatorResult> results = new ArrayList<>();
    List<FeatureErrors> batchSmall = List.of(errors(0, 0.4, 0.5), errors(1, Double.NaN,
        Double.NaN), errors(2, 0.9, 0.7));
    List<FeatureErrors> batchLarge = List.of(errors(0, 0.1, 0.12), errors(1, Double.NaN,
        Double.NaN), errors(2, 0.2, 0.15));
    results.add(result(SMALL, Estimator.BATCH, 0.5, 0.5, batchSmall));
    results.add(result(LARGE, Estimator.BATCH, 0.125, 0.123, batchLarge));
    // prediction-time estimators: feature 0 worst for ema-keras at 4 (0.09), feature 2 next
    // (0.05 for ema-torch at 4), feature 1 undefined everywhere
    results.add(result(SMALL, Estimator.EMA_TORCH, 0, 0.02, List.of(errors(0, 0, 0.01),
        errors(1, 0, Double.NaN), errors(2, 0, 0.05))));
    results.add(result(LARGE, Estimator.EMA_TORCH, 0, 0.005, List.of(errors(0, 0, 0.004),
        errors(1, 0, Double.NaN), errors(2, 0, 0.006))));
    results.add(result(SMALL, Estimator.EMA_KERAS, 0, 0.05, List.of(errors(0, 0, 0.09),
        errors(1, 0, Double.NaN), errors(2, 0, 0.02))));
    results.add(result(LARGE, Estimator.EMA_KERAS, 0, 0.03, List.of(errors(0, 0, 0.03),
        errors(1, 0, Double.NaN), errors(2, 0, 0.03))));
    List<FeatureErrors> tiny = List.of(errors(0, 0, 1e-4), errors(1, 0, Double.NaN),
        errors(2, 0, 2e-4));
    results.add(result(SMALL, Estimator.CMA, 0, 0.0012, tiny));
    results.add(result(LARGE, Estimator.CMA, 0, 0.0003, tiny));
    results.add(result(SMALL, Estimator.PRECISE, 0, 0.0021, tiny));
    results.add(result(LARGE, Estimator.PRECISE, 0, 0.0004, tiny));
    return new Comparison.Result(List.of(), results, List.of(),
        List.of(gap(SMALL, 0.25, 0.125, 0.031), gap(LARGE, 0.015, 0.0125, 0)), List.of());
  }

  @Test
  void theReadingsSayWhatTheNumbersAre() {
    CompareSettings settings = CompareSettings.builder(LARGE, SMALL).build();
    List<String> readings = Findings.readings(comparison(), settings);
    assertEquals(List.of(
        "A single minibatch's mean is off by 0.50 standard deviations for the median feature at "
            + "batch size 4, and by 0.13 at 64; its variance by 50% and 12%. That is the noise "
            + "training-mode BatchNorm normalizes with.",
        "PyTorch's running_var (momentum 0.10) keeps the median feature's variance within 1% at "
            + "batch size 64 (0.50% at 64).",
        "Keras' moving_variance (momentum 0.99) is more than 1% off the exact variance for the "
            + "median feature at every batch size tried; closest at batch size 64 (3.0%). More "
            + "steps, a smaller momentum or recomputing the statistics after training would help.",
        "Recomputing the statistics after training with equal weights (PyTorch momentum=None, as "
            + "torch.optim.swa_utils.update_bn does) or with PreciseBN keeps the median feature's "
            + "variance within 0.21% at every batch size tried.",
        "Training-mode outputs differ from prediction-mode outputs by a mean square of 0.25 at "
            + "batch size 4 and 0.015 at 64 (outputs have unit variance); Batch Renormalization "
            + "brings that to 0.13 and 0.013, clipping in 3.1% of (batch, feature) pairs at batch "
            + "size 4."), readings);
  }

  @Test
  void theFeaturesItPointsAtLeaveOutUndefinedOnes() {
    Comparison.Result r = comparison();
    assertEquals(2, Findings.worstBatchMeanFeature(r, SMALL));
    // by the largest variance error over the prediction-time estimators and sizes: feature 0
    // (0.09, ema-keras at 4), then feature 2 (0.05); feature 1 has none
    assertArrayEquals(new int[] {0, 2}, Findings.worstFeatures(r, 5));
    assertArrayEquals(new int[] {0}, Findings.worstFeatures(r, 1));
    assertEquals(0.09, Findings.worstVarRelErr(r, Estimator.EMA_KERAS, 0));
    assertEquals(Double.NaN, Findings.worstVarRelErr(r, Estimator.EMA_TORCH, 1));
  }

  @Test
  void numbersAreWrittenWithTwoSignificantDigits() {
    assertEquals("0.0012", Findings.num(0.00123));
    assertEquals("1.2e-5", Findings.num(1.23e-5));
    assertEquals("1.2e5", Findings.num(123456));
    assertEquals("n/a", Findings.num(Double.NaN));
    assertEquals("12%", Findings.pct(0.123));
    assertEquals("83.49%", Findings.pct4(0.83494));
  }
}
