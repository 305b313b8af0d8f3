package io.normstats.report;

import io.normstats.minibatch.CompareSettings;
import io.normstats.minibatch.Comparison;
import io.normstats.minibatch.Estimator;
import io.normstats.minibatch.EstimateErrors;
import io.normstats.minibatch.FeatureErrors;
import io.normstats.minibatch.Spread;
import io.normstats.onnx.EvaluationResult;
import io.normstats.onnx.LayerRecalibration;
import io.normstats.onnx.RecalibrationResult;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.stream.IntStream;

/**
 * What a comparison means, in numbers picked out of it and in plain sentences: the feature where
 * single minibatches err most, the features where the estimators are furthest off, and a short
 * reading for someone choosing a batch size or a momentum; and, for a network recalibrated on the
 * same input, how far its stored statistics and the approximations were from the exact ones.
 */
public final class Findings {
  /** The relative variance error a reading calls "close": 1%. */
  static final double CLOSE = 0.01;

  private Findings() {}

  /** The result of {@code estimator} at batch size {@code m}. */
  public static Comparison.EstimatorResult result(Comparison.Result r, int m, Estimator estimator) {
    return r.results().stream().filter(x -> x.batchSize() == m && x.estimator() == estimator)
        .findFirst().orElseThrow();
  }

  /** The median over features of {@code metric} for {@code estimator} at {@code m}. */
  public static double median(Comparison.Result r, int m, Estimator estimator, String metric) {
    return result(r, m, estimator).summary().get(metric).median();
  }

  /**
   * The feature whose single-minibatch means err most at batch size {@code m}: the largest root
   * mean square of {@code |mu_B - mu| / sigma} (features with zero variance left out); -1 if none.
   */
  public static int worstBatchMeanFeature(Comparison.Result r, int m) {
    List<FeatureErrors> errors = result(r, m, Estimator.BATCH).features();
    int worst = -1;
    for (int j = 0; j < errors.size(); j++) {
      double e = errors.get(j).meanErrInStd();
      if (!Double.isNaN(e) && (worst < 0 || e > errors.get(worst).meanErrInStd())) {
        worst = j;
      }
    }
    return worst;
  }

  /**
   * The {@code n} features where the prediction-time estimators (all but {@code batch}) are
   * furthest off: by the largest relative variance error over estimators and batch sizes.
   */
  public static int[] worstFeatures(Comparison.Result r, int n) {
    int f = r.results().get(0).features().size();
    double[] worst = new double[f];
    Arrays.fill(worst, Double.NaN);
    for (Comparison.EstimatorResult er : r.results()) {
      if (er.estimator() == Estimator.BATCH) {
        continue;
      }
      for (int j = 0; j < f; j++) {
        double e = er.features().get(j).varRelErr();
        if (!Double.isNaN(e) && !(e <= worst[j])) {
          worst[j] = e;
        }
      }
    }
    return IntStream.range(0, f).boxed().filter(j -> !Double.isNaN(worst[j]))
        .sorted(Comparator.comparingDouble((Integer j) -> worst[j]).reversed())
        .limit(n).mapToInt(Integer::intValue).toArray();
  }

  /** The largest relative variance error of {@code estimator} for feature {@code j}, over batch sizes. */
  public static double worstVarRelErr(Comparison.Result r, Estimator estimator, int j) {
    return r.results().stream().filter(x -> x.estimator() == estimator)
        .mapToDouble(x -> x.features().get(j).varRelErr()).filter(v -> !Double.isNaN(v))
        .max().orElse(Double.NaN);
  }

  /** A short reading of the results in plain sentences. */
  public static List<String> readings(Comparison.Result r, CompareSettings s) {
    List<String> out = new ArrayList<>();
    int[] sizes = s.batchSizes().clone();
    Arrays.sort(sizes);
    int small = sizes[0];
    int large = sizes[sizes.length - 1];
    out.add(String.format(Locale.ROOT, "A single minibatch's mean is off by %s standard deviations "
        + "for the median feature at batch size %d, and by %s at %d; its variance by %s and %s. "
        + "That is the noise training-mode BatchNorm normalizes with.",
        num(median(r, small, Estimator.BATCH, "mean_err_in_std")), small,
        num(median(r, large, Estimator.BATCH, "mean_err_in_std")), large,
        pct(median(r, small, Estimator.BATCH, "var_rel_err")),
        pct(median(r, large, Estimator.BATCH, "var_rel_err"))));
    out.add(close(r, sizes, Estimator.EMA_TORCH, "PyTorch's running_var (momentum "
        + num(s.momentum()) + ")"));
    out.add(close(r, sizes, Estimator.EMA_KERAS, "Keras' moving_variance (momentum "
        + num(s.kerasMomentum()) + ")"));
    double worstRecomputed = 0;
    for (int m : sizes) {
      worstRecomputed = Math.max(worstRecomputed, Math.max(
          median(r, m, Estimator.CMA, "var_rel_err"), median(r, m, Estimator.PRECISE, "var_rel_err")));
    }
    out.add("Recomputing the statistics after training with equal weights (PyTorch momentum=None, "
        + "as torch.optim.swa_utils.update_bn does) or with PreciseBN keeps the median feature's "
        + "variance within " + pct(worstRecomputed) + " at every batch size tried.");
    Comparison.Gap gapSmall = r.gaps().stream().filter(g -> g.batchSize() == small).findFirst()
        .orElseThrow();
    Comparison.Gap gapLarge = r.gaps().stream().filter(g -> g.batchSize() == large).findFirst()
        .orElseThrow();
    out.add(String.format(Locale.ROOT, "Training-mode outputs differ from prediction-mode outputs "
        + "by a mean square of %s at batch size %d and %s at %d (outputs have unit variance); "
        + "Batch Renormalization brings that to %s and %s, clipping in %s of (batch, feature) pairs "
        + "at batch size %d.", num(gapSmall.bnMseMean()), small, num(gapLarge.bnMseMean()), large,
        num(gapSmall.renormMseMean()), num(gapLarge.renormMseMean()), pct(gapSmall.clipFraction()),
        small));
    return out;
  }

  /** The estimates of a network's BatchNorm statistics the report compares, in order. */
  public static final List<String> ESTIMATES = List.of("stored", "one_pass", "precise_bn");

  /**
   * The median over channels of {@code metric} ("mean_err_in_std", "var_rel_err" or "kl") of
   * each layer's {@code estimate}, in the layers' topological order.
   */
  public static double[] layerMedians(ReportData.Network n, String estimate, String metric) {
    boolean sample = n.description().sampleVariance();
    return n.result().layers().stream().mapToDouble(l -> {
      EstimateErrors e = l.errors(sample).get(estimate);
      Spread spread = switch (metric) {
        case "mean_err_in_std" -> e.meanErrInStd();
        case "var_rel_err" -> e.varRelErr();
        default -> e.kl();
      };
      return spread.median();
    }).toArray();
  }

  /** A short reading of a network's recalibration in plain sentences. */
  public static List<String> networkReadings(ReportData.Network n) {
    List<String> out = new ArrayList<>();
    RecalibrationResult r = n.result();
    List<LayerRecalibration> layers = r.layers();
    out.add(String.format(Locale.ROOT, "The %d BatchNorm layers of %s were recomputed exactly on "
        + "the %d rows, bottom-up in %d passes (one per level), each with the layers below it "
        + "already recalibrated.", layers.size(), n.description().model(), r.rows(), r.passes()));
    double[] stored = layerMedians(n, "stored", "var_rel_err");
    int worst = 0;
    for (int k = 1; k < stored.length; k++) {
      if (stored[k] > stored[worst]) {
        worst = k;
      }
    }
    out.add("The stored running statistics are off by a median " + pct(stored[worst])
        + " in variance at " + layers.get(worst).layer().node() + " (level "
        + layers.get(worst).layer().level() + "), the layer where they are furthest off.");
    double[] onePass = layerMedians(n, "one_pass", "var_rel_err");
    double[] precise = layerMedians(n, "precise_bn", "var_rel_err");
    double onePassWorst = 0;
    double preciseWorst = 0;
    for (int k = 0; k < layers.size(); k++) {
      if (layers.get(k).layer().level() > 0) {
        onePassWorst = Math.max(onePassWorst, onePass[k]);
      }
      preciseWorst = Math.max(preciseWorst, precise[k]);
    }
    if (r.levels() > 1) {
      out.add("Recomputing every layer in one pass with the stored statistics upstream (one_pass) "
          + "is exact at level 0 only: above it, it is off by up to a median " + pct(onePassWorst)
          + " in variance. PreciseBN, with the layers upstream in training mode (minibatches of "
          + n.description().preciseBnBatchSize() + "), is off by up to " + pct(preciseWorst)
          + ".");
    }
    EvaluationResult e = n.evaluation();
    if (e != null) {
      if (e.correct() != null) {
        out.add(String.format(Locale.ROOT, "On the %d evaluation rows, accuracy goes from %s "
            + "with the stored statistics to %s with the exact ones (one_pass %s, precise_bn %s); "
            + "%s of the predictions change.", e.rows(), pct4(e.accuracy(0)), pct4(e.accuracy(1)),
            pct4(e.accuracy(2)), pct4(e.accuracy(3)), pct(e.changedFraction(1))));
      } else {
        out.add(String.format(Locale.ROOT, "On the %d evaluation rows, %s of the predictions "
            + "change with the exact statistics (one_pass %s, precise_bn %s).", e.rows(),
            pct(e.changedFraction(1)), pct(e.changedFraction(2)), pct(e.changedFraction(3))));
      }
    }
    return out;
  }

  /** A fraction as a percentage with two decimals (accuracies). */
  static String pct4(double v) {
    return Double.isNaN(v) ? "n/a" : String.format(Locale.ROOT, "%.2f%%", 100 * v);
  }

  private static String close(Comparison.Result r, int[] sizes, Estimator e, String what) {
    List<Integer> within = new ArrayList<>();
    int best = sizes[0];
    for (int m : sizes) {
      double v = median(r, m, e, "var_rel_err");
      if (v <= CLOSE) {
        within.add(m);
      }
      if (v < median(r, best, e, "var_rel_err")) {
        best = m;
      }
    }
    if (within.isEmpty()) {
      return what + " is more than 1% off the exact variance for the median feature at every "
          + "batch size tried; closest at batch size " + best + " ("
          + pct(median(r, best, e, "var_rel_err")) + "). More steps, a smaller momentum or "
          + "recomputing the statistics after training would help.";
    }
    return what + " keeps the median feature's variance within 1% at batch size"
        + (within.size() > 1 ? "s " : " ") + within.toString().replaceAll("[\\[\\]]", "")
        + " (" + pct(median(r, best, e, "var_rel_err")) + " at " + best + ").";
  }

  /** A number with 2 significant digits. */
  static String num(double v) {
    if (Double.isNaN(v)) {
      return "n/a";
    }
    return String.format(Locale.ROOT, "%.2g", v).replaceAll("e\\+?(-?)0*(\\d)", "e$1$2");
  }

  /** A fraction as a percentage with 2 significant digits. */
  static String pct(double v) {
    return Double.isNaN(v) ? "n/a" : num(100 * v) + "%";
  }
}
