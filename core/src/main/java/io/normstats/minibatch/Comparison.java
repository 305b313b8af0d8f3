package io.normstats.minibatch;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.ToDoubleFunction;

/**
 * Turns the merged {@link EstimateAccumulator}s of a run into the estimates of every
 * {@link Estimator}, their errors against the exact statistics, summaries over features, the traces
 * of the moving averages, and the gap between training-mode and prediction-mode BatchNorm. Runs on
 * the driver in memory proportional to features x (estimators + trace points).
 */
public final class Comparison {
  private Comparison() {}

  /** The error fields summarized over features, by their output names. */
  public static final Map<String, ToDoubleFunction<FeatureErrors>> SUMMARIZED;

  static {
    Map<String, ToDoubleFunction<FeatureErrors>> m = new LinkedHashMap<>();
    m.put("mean_abs_err", FeatureErrors::meanAbsErr);
    m.put("mean_rel_err", FeatureErrors::meanRelErr);
    m.put("mean_err_in_std", FeatureErrors::meanErrInStd);
    m.put("var_abs_err", FeatureErrors::varAbsErr);
    m.put("var_rel_err", FeatureErrors::varRelErr);
    m.put("var_ratio", FeatureErrors::varRatio);
    m.put("kl", FeatureErrors::kl);
    m.put("output_mean_abs", e -> Math.abs(e.outputMean()));
    m.put("output_var", FeatureErrors::outputVar);
    SUMMARIZED = java.util.Collections.unmodifiableMap(m);
  }

  /**
   * One estimator at one batch size.
   *
   * @param batchSize m
   * @param estimator the estimator
   * @param features one entry per feature, in feature order
   * @param summary the spread over features of each field of {@link #SUMMARIZED}, in that order
   */
  public record EstimatorResult(int batchSize, Estimator estimator, List<FeatureErrors> features,
      Map<String, Spread> summary) {}

  /**
   * The error of a moving average at one checkpoint.
   *
   * @param step the number of batches seen (1-based step)
   * @param epoch {@code step / batchesPerEpoch}
   * @param meanErrInStd the spread over features of {@code |r - mu| / sqrt(sigma^2)}
   * @param varRelErr the spread over features of {@code |v - sigma^2| / sigma^2}
   */
  public record TracePoint(long step, double epoch, Spread meanErrInStd, Spread varRelErr) {}

  /** The checkpoints of one moving average at one batch size. */
  public record Trace(int batchSize, Estimator estimator, List<TracePoint> points) {}

  /**
   * The train/inference gap of one feature: means over batches.
   *
   * @param bnMse the mean squared difference between training-mode BatchNorm's output (normalized
   *     with the batch's own mu_B and sigma2_B) and prediction-mode output (normalized with the exact
   *     statistics) on the same rows
   * @param renormMse the same for Batch Renormalization's training-mode output
   * @param rClipFraction the fraction of batches in which renorm clips r
   * @param dClipFraction the fraction of batches in which renorm clips d
   * @param clipFraction the fraction of batches in which renorm clips r or d
   */
  public record FeatureGap(String name, int index, double bnMse, double renormMse,
      double rClipFraction, double dClipFraction, double clipFraction) {}

  /**
   * The train/inference gap at one batch size.
   *
   * @param bnMseMean the mean over batches and features of the BatchNorm gap
   * @param renormMseMean the same for Batch Renormalization
   * @param clipFraction the fraction of (batch, feature) pairs in which renorm clips r or d
   */
  public record Gap(int batchSize, List<FeatureGap> features, double bnMseMean, Spread bnMse,
      double renormMseMean, Spread renormMse, double rClipFraction, double dClipFraction,
      double clipFraction) {}

  /**
   * How far a single minibatch's statistics are off, over all (batch, feature) pairs of one batch
   * size: the distribution behind {@link Estimator#BATCH}.
   *
   * @param meanErrInStd {@code |mu_B - mu| / sqrt(var_pop)}
   * @param varRelErr {@code |sigma2_B - var_pop| / var_pop}
   */
  public record BatchDistribution(int batchSize, ErrorHistogram meanErrInStd,
      ErrorHistogram varRelErr) {}

  /** Everything a comparison finds. */
  public record Result(List<BatchSchedule> schedules, List<EstimatorResult> results,
      List<Trace> traces, List<Gap> gaps, List<BatchDistribution> batchDistributions) {}

  /**
   * Assembles the result.
   *
   * @param names the feature names, in feature order
   * @param exact the exact statistics
   * @param settings the settings the accumulators were filled with
   * @param accumulators one fully merged accumulator per batch size, in the settings' order
   * @throws IllegalStateException if an accumulator did not see every batch of its schedule
   */
  public static Result assemble(List<String> names, DatasetMoments exact, CompareSettings settings,
      List<EstimateAccumulator> accumulators) {
    for (EstimateAccumulator acc : accumulators) {
      BatchSchedule schedule = acc.schedule();
      if (acc.batches() != schedule.steps()) {
        throw new IllegalStateException("batch size " + schedule.batchSize() + ": folded "
            + acc.batches() + " batches, expected " + schedule.steps());
      }
    }
    // The batch sizes are independent: assembled in parallel (the trace points' spreads are
    // thousands of sorts of F values), collected in the settings' order.
    List<Result> parts = accumulators.parallelStream()
        .map(acc -> assembleOne(names, exact, settings, acc)).toList();
    List<BatchSchedule> schedules = new ArrayList<>();
    List<EstimatorResult> results = new ArrayList<>();
    List<Trace> traces = new ArrayList<>();
    List<Gap> gaps = new ArrayList<>();
    List<BatchDistribution> distributions = new ArrayList<>();
    for (Result part : parts) {
      schedules.addAll(part.schedules());
      results.addAll(part.results());
      traces.addAll(part.traces());
      gaps.addAll(part.gaps());
      distributions.addAll(part.batchDistributions());
    }
    return new Result(List.copyOf(schedules), List.copyOf(results), List.copyOf(traces),
        List.copyOf(gaps), List.copyOf(distributions));
  }

  /** The result of one batch size's accumulator. */
  private static Result assembleOne(List<String> names, DatasetMoments exact,
      CompareSettings settings, EstimateAccumulator acc) {
    BatchSchedule schedule = acc.schedule();
    Map<Estimator, double[][]> finals = new LinkedHashMap<>();
    List<Trace> traces = movingAverages(names, exact, settings, acc, finals);
    List<EstimatorResult> results = new ArrayList<>();
    for (Estimator est : Estimator.values()) {
      List<FeatureErrors> features = new ArrayList<>(names.size());
      for (int j = 0; j < names.size(); j++) {
        features.add(errors(est, names.get(j), j, exact, acc, finals));
      }
      results.add(new EstimatorResult(schedule.batchSize(), est, List.copyOf(features),
          summarize(features)));
    }
    return new Result(List.of(schedule), List.copyOf(results), traces, List.of(gap(names, acc)),
        List.of(new BatchDistribution(schedule.batchSize(), acc.meanErrors(), acc.varErrors())));
  }

  private static FeatureErrors errors(Estimator est, String name, int j, DatasetMoments exact,
      EstimateAccumulator acc, Map<Estimator, double[][]> finals) {
    double steps = acc.batches();
    double v = exact.variance(j);
    int m = acc.schedule().batchSize();
    return switch (est) {
      case BATCH -> batchErrors(name, j, exact, acc);
      case AVERAGE -> FeatureErrors.of(name, j, exact, acc.sum(EstimateAccumulator.DELTA, j) / steps,
          (double) m / (m - 1) * (acc.sum(EstimateAccumulator.VAR, j) / steps) - v);
      case PRECISE -> {
        double w = acc.batchRows();
        double meanErr = acc.sum(EstimateAccumulator.W_DELTA, j) / w;
        double second = acc.sum(EstimateAccumulator.W_SECOND, j) / w;
        yield FeatureErrors.of(name, j, exact, meanErr, second - meanErr * meanErr - v);
      }
      case EMA_TORCH, EMA_KERAS, CMA -> {
        double[][] f = finals.get(est);
        yield FeatureErrors.of(name, j, exact, f[0][j], f[1][j]);
      }
    };
  }

  /** The {@link Estimator#BATCH} fields: means and root mean squares over batches. */
  private static FeatureErrors batchErrors(String name, int j, DatasetMoments exact,
      EstimateAccumulator acc) {
    double t = acc.batches();
    double mu = exact.mean(j);
    double v = exact.variance(j);
    double meanRms = Math.sqrt(acc.sum(EstimateAccumulator.DELTA2, j) / t);
    double varRms = Math.sqrt(acc.sum(EstimateAccumulator.VAR_ERR2, j) / t);
    double meanVar = acc.sum(EstimateAccumulator.VAR, j) / t;
    return new FeatureErrors(name, j, mu + acc.sum(EstimateAccumulator.DELTA, j) / t, meanVar,
        mu, v, meanRms, FeatureErrors.ratio(meanRms, Math.abs(mu)),
        FeatureErrors.ratio(meanRms, Math.sqrt(v)), varRms, FeatureErrors.ratio(varRms, v),
        FeatureErrors.ratio(meanVar, v), acc.sum(EstimateAccumulator.KL, j) / t,
        Math.sqrt(acc.sum(EstimateAccumulator.OUT_MEAN2, j) / t),
        acc.sum(EstimateAccumulator.OUT_VAR, j) / t);
  }

  /**
   * Runs the recurrences of ema-torch, ema-keras and cma over the segments, recording the spread
   * of their errors at each checkpoint, and leaves each one's final (mean error, variance error)
   * per feature in {@code finals}.
   */
  private static List<Trace> movingAverages(List<String> names, DatasetMoments exact,
      CompareSettings settings, EstimateAccumulator acc, Map<Estimator, double[][]> finals) {
    int f = names.size();
    BatchSchedule schedule = acc.schedule();
    double a = settings.momentum();
    double b = settings.kerasMomentum();
    double[] torchMean = new double[f];
    double[] torchVar = new double[f];
    double[] kerasMean = new double[f];
    double[] kerasVar = new double[f];
    double[] cmaMeanSum = new double[f];
    double[] cmaVarSum = new double[f];
    for (int j = 0; j < f; j++) {
      // running_mean starts at 0 and running_var at 1 in both frameworks
      torchMean[j] = -exact.mean(j);
      torchVar[j] = 1 - exact.variance(j);
      kerasMean[j] = -exact.mean(j);
      kerasVar[j] = 1 - exact.variance(j);
    }
    List<TracePoint> torch = new ArrayList<>();
    List<TracePoint> keras = new ArrayList<>();
    List<TracePoint> cma = new ArrayList<>();
    double[] cmaMean = new double[f];
    double[] cmaVar = new double[f];
    long previous = 0;
    for (int k = 1; k <= schedule.checkpoints(); k++) {
      long step = schedule.checkpoint(k);
      long gap = step - previous;
      double torchDecay = Math.pow(1 - a, gap);
      double kerasDecay = Math.pow(b, gap);
      double[] seg = acc.segment(k);
      for (int j = 0; j < f; j++) {
        torchMean[j] = torchDecay * torchMean[j] + segment(seg, EstimateAccumulator.SEG_TORCH_MEAN, f, j);
        torchVar[j] = torchDecay * torchVar[j] + segment(seg, EstimateAccumulator.SEG_TORCH_VAR, f, j);
        kerasMean[j] = kerasDecay * kerasMean[j] + segment(seg, EstimateAccumulator.SEG_KERAS_MEAN, f, j);
        kerasVar[j] = kerasDecay * kerasVar[j] + segment(seg, EstimateAccumulator.SEG_KERAS_VAR, f, j);
        cmaMeanSum[j] += segment(seg, EstimateAccumulator.SEG_CMA_MEAN, f, j);
        cmaVarSum[j] += segment(seg, EstimateAccumulator.SEG_CMA_VAR, f, j);
        cmaMean[j] = cmaMeanSum[j] / step;
        cmaVar[j] = cmaVarSum[j] / step;
      }
      double epoch = (double) step / schedule.batchesPerEpoch();
      torch.add(tracePoint(step, epoch, exact, torchMean, torchVar));
      keras.add(tracePoint(step, epoch, exact, kerasMean, kerasVar));
      cma.add(tracePoint(step, epoch, exact, cmaMean, cmaVar));
      previous = step;
    }
    finals.put(Estimator.EMA_TORCH, new double[][] {torchMean, torchVar});
    finals.put(Estimator.EMA_KERAS, new double[][] {kerasMean, kerasVar});
    finals.put(Estimator.CMA, new double[][] {cmaMean, cmaVar});
    int m = schedule.batchSize();
    return List.of(new Trace(m, Estimator.EMA_TORCH, List.copyOf(torch)),
        new Trace(m, Estimator.EMA_KERAS, List.copyOf(keras)),
        new Trace(m, Estimator.CMA, List.copyOf(cma)));
  }

  private static double segment(double[] seg, int quantity, int f, int j) {
    return seg == null ? 0 : seg[quantity * f + j];
  }

  private static TracePoint tracePoint(long step, double epoch, DatasetMoments exact,
      double[] meanErr, double[] varErr) {
    int f = meanErr.length;
    double[] inStd = new double[f];
    double[] rel = new double[f];
    for (int j = 0; j < f; j++) {
      double v = exact.variance(j);
      inStd[j] = FeatureErrors.ratio(Math.abs(meanErr[j]), exact.stdDev(j));
      rel[j] = FeatureErrors.ratio(Math.abs(varErr[j]), v);
    }
    return new TracePoint(step, epoch, Spread.of(inStd), Spread.of(rel));
  }

  private static Map<String, Spread> summarize(List<FeatureErrors> features) {
    Map<String, Spread> summary = new LinkedHashMap<>();
    for (Map.Entry<String, ToDoubleFunction<FeatureErrors>> e : SUMMARIZED.entrySet()) {
      summary.put(e.getKey(), Spread.of(features.stream().mapToDouble(e.getValue()).toArray()));
    }
    return summary;
  }

  private static Gap gap(List<String> names, EstimateAccumulator acc) {
    int f = names.size();
    double t = acc.batches();
    List<FeatureGap> features = new ArrayList<>(f);
    double[] bn = new double[f];
    double[] renorm = new double[f];
    long clipR = 0;
    long clipD = 0;
    long clipAny = 0;
    for (int j = 0; j < f; j++) {
      bn[j] = acc.sum(EstimateAccumulator.GAP_BN, j) / t;
      renorm[j] = acc.sum(EstimateAccumulator.GAP_RENORM, j) / t;
      long r = acc.clips(EstimateAccumulator.CLIP_R, j);
      long d = acc.clips(EstimateAccumulator.CLIP_D, j);
      long any = acc.clips(EstimateAccumulator.CLIP_ANY, j);
      clipR += r;
      clipD += d;
      clipAny += any;
      features.add(new FeatureGap(names.get(j), j, bn[j], renorm[j], r / t, d / t, any / t));
    }
    double pairs = t * f;
    return new Gap(acc.schedule().batchSize(), List.copyOf(features), mean(bn), Spread.of(bn),
        mean(renorm), Spread.of(renorm), clipR / pairs, clipD / pairs, clipAny / pairs);
  }

  private static double mean(double[] values) {
    double s = 0;
    for (double v : values) {
      s += v;
    }
    return s / values.length;
  }
}
