package io.normstats.minibatch;

import java.io.Serializable;
import java.util.Map;
import java.util.TreeMap;

/**
 * Everything the estimators need from the minibatches of one batch size, folded batch by batch:
 * per-feature sums over batches, and per trace segment the weighted sums that the moving averages
 * are made of. Its size grows with the features and the trace segments touched, never with the
 * number of batches, so any number of batches can be folded in a Spark task and the partial results
 * merged.
 *
 * <p>Why sums suffice: an exponential moving average is a weighted sum of the batch statistics.
 * Centred on the exact value, PyTorch's {@code r_n - mu = (1-a)(r_(n-1) - mu) + a(mu_B,n - mu)}, so
 * at checkpoint {@code n_k}, {@code r_(n_k) - mu = (1-a)^(n_k - n_(k-1)) (r_(n_(k-1)) - mu) + S_k}
 * with {@code S_k = sum over steps n of segment k of a(1-a)^(n_k - n) (mu_B,n - mu)}; likewise for the
 * variance and for Keras (weights {@code (1-b) b^(n_k - n)}). Each batch adds to exactly one segment,
 * and the driver runs the short recurrence over segments ({@link Comparison}).
 *
 * <p>Everything is kept centred on the exact statistics (batch mean offsets, variance differences),
 * so the errors stay accurate even when the mean is large against the spread. Floating-point sums
 * depend on their association: {@link #merge} adds element-wise, and the result is deterministic when
 * the batches are folded in step order and the partial results merged in a fixed tree, as
 * {@code io.normstats.spark.MinibatchComparison} does.
 */
public final class EstimateAccumulator implements Serializable {
  private static final long serialVersionUID = 1L;

  // per-feature sums over batches, at [quantity * F + j]
  static final int DELTA = 0;        // sum mu_B - mu
  static final int VAR = 1;          // sum sigma2_B
  static final int UVAR = 2;         // sum s2_B
  static final int DELTA2 = 3;       // sum (mu_B - mu)^2
  static final int VAR_ERR2 = 4;     // sum (sigma2_B - sigma^2)^2
  static final int KL = 5;           // sum KL(N(mu, sigma^2+eps) || N(mu_B, sigma2_B+eps))
  static final int OUT_MEAN2 = 6;    // sum (mu - mu_B)^2 / (sigma2_B + eps)
  static final int OUT_VAR = 7;      // sum sigma^2 / (sigma2_B + eps)
  static final int W_DELTA = 8;      // sum m_B (mu_B - mu)
  static final int W_SECOND = 9;     // sum m_B ((mu_B - mu)^2 + sigma2_B)
  static final int GAP_BN = 10;      // sum of the train/predict mean squared output difference
  static final int GAP_RENORM = 11;  // the same for Batch Renormalization
  static final int QUANTITIES = 12;

  // per-feature counts of batches where Batch Renormalization clips, at [kind * F + j]
  static final int CLIP_R = 0;
  static final int CLIP_D = 1;
  static final int CLIP_ANY = 2;

  // per-segment weighted sums, at [quantity * F + j]
  static final int SEG_TORCH_MEAN = 0;
  static final int SEG_TORCH_VAR = 1;
  static final int SEG_KERAS_MEAN = 2;
  static final int SEG_KERAS_VAR = 3;
  static final int SEG_CMA_MEAN = 4;
  static final int SEG_CMA_VAR = 5;
  static final int SEG_QUANTITIES = 6;

  private final BatchSchedule schedule;
  private final int features;
  private final double[] sums;
  private final long[] clips;
  private final TreeMap<Integer, double[]> segments = new TreeMap<>();
  private final ErrorHistogram meanErrors = new ErrorHistogram();
  private final ErrorHistogram varErrors = new ErrorHistogram();
  private long batches;
  private long batchRows;

  /** An empty accumulator for {@code schedule}'s batches of {@code features} features. */
  public EstimateAccumulator(BatchSchedule schedule, int features) {
    this.schedule = schedule;
    this.features = features;
    this.sums = new double[QUANTITIES * features];
    this.clips = new long[3 * features];
  }

  /** The schedule whose batches this accumulates. */
  public BatchSchedule schedule() {
    return schedule;
  }

  /** The number of batches folded in. */
  public long batches() {
    return batches;
  }

  /**
   * Folds in one batch.
   *
   * @param step the batch's step, 1-based over all epochs
   * @param size the batch's number of rows, at least 2
   * @param delta {@code mu_B - mu} per feature, from {@link BatchMoments}
   * @param variance the biased {@code sigma2_B} per feature
   * @param exact the exact statistics
   * @param settings the momenta and the Batch Renormalization limits
   */
  public void add(long step, int size, double[] delta, double[] variance, DatasetMoments exact,
      CompareSettings settings) {
    int f = features;
    int segment = schedule.segmentOf(step);
    long toCheckpoint = schedule.checkpoint(segment) - step;
    double a = settings.momentum();
    double b = settings.kerasMomentum();
    double torchWeight = a * Math.pow(1 - a, toCheckpoint);
    double kerasWeight = (1 - b) * Math.pow(b, toCheckpoint);
    double eps = settings.epsilon();
    double rMax = settings.renormRmax();
    double dMax = settings.renormDmax();
    double bessel = (double) size / (size - 1);
    double[] seg = segments.computeIfAbsent(segment, k -> new double[SEG_QUANTITIES * f]);
    double[] t = sums;
    for (int j = 0; j < f; j++) {
      double d = delta[j];
      double v = variance[j];
      double u = v * bessel;
      double sv = exact.variance(j);
      double p = sv + eps;
      double q = v + eps;
      double dd = d * d;
      meanErrors.add(FeatureErrors.ratio(Math.abs(d), exact.stdDev(j)));
      varErrors.add(FeatureErrors.ratio(Math.abs(v - sv), sv));
      t[DELTA * f + j] += d;
      t[VAR * f + j] += v;
      t[UVAR * f + j] += u;
      t[DELTA2 * f + j] += dd;
      t[VAR_ERR2 * f + j] += (v - sv) * (v - sv);
      t[KL * f + j] += FeatureErrors.kl(d, v - sv, p, q);
      t[OUT_MEAN2 * f + j] += dd / q;
      t[OUT_VAR * f + j] += sv / q;
      t[W_DELTA * f + j] += size * d;
      t[W_SECOND * f + j] += size * (dd + v);

      // Training mode outputs (x - mu_B)/sB, prediction mode (x - mu)/s; their difference is
      // alpha*x + beta, whose mean square over the batch is alpha^2 sigma2_B + (d/s)^2.
      double s = exact.sigma(j);
      double sB = Math.sqrt(q);
      double alpha = (sv - v) / (s * sB * (s + sB)); // 1/sB - 1/s without cancellation
      double ds = d / s;
      t[GAP_BN * f + j] += alpha * alpha * v + ds * ds;
      // Batch Renormalization: (x - mu_B)/sB * r + d with r = clip(sB/s), d = clip((mu_B - mu)/s);
      // unclipped it equals prediction mode exactly.
      double r = sB / s;
      boolean clipR = r < 1 / rMax || r > rMax;
      boolean clipD = Math.abs(ds) > dMax;
      double alphaR = clipR ? Math.min(Math.max(r, 1 / rMax), rMax) / sB - 1 / s : 0;
      double betaR = clipD ? Math.copySign(dMax, ds) - ds : 0;
      t[GAP_RENORM * f + j] += alphaR * alphaR * v + betaR * betaR;
      if (clipR) {
        clips[CLIP_R * f + j]++;
      }
      if (clipD) {
        clips[CLIP_D * f + j]++;
      }
      if (clipR || clipD) {
        clips[CLIP_ANY * f + j]++;
      }

      seg[SEG_TORCH_MEAN * f + j] += torchWeight * d;
      seg[SEG_TORCH_VAR * f + j] += torchWeight * (u - sv);
      seg[SEG_KERAS_MEAN * f + j] += kerasWeight * d;
      seg[SEG_KERAS_VAR * f + j] += kerasWeight * (v - sv);
      seg[SEG_CMA_MEAN * f + j] += d;
      seg[SEG_CMA_VAR * f + j] += u - sv;
    }
    batches++;
    batchRows += size;
  }

  /**
   * Adds {@code other}'s sums to this one's (element-wise; the two must have the same schedule and
   * features).
   *
   * @throws IllegalArgumentException if the shapes differ
   */
  public void merge(EstimateAccumulator other) {
    if (other.features != features || other.schedule.batchSize() != schedule.batchSize()) {
      throw new IllegalArgumentException("merging accumulators of different shapes");
    }
    add(sums, other.sums);
    for (int i = 0; i < clips.length; i++) {
      clips[i] += other.clips[i];
    }
    for (Map.Entry<Integer, double[]> e : other.segments.entrySet()) {
      double[] mine = segments.get(e.getKey());
      if (mine == null) {
        segments.put(e.getKey(), e.getValue().clone());
      } else {
        add(mine, e.getValue());
      }
    }
    meanErrors.merge(other.meanErrors);
    varErrors.merge(other.varErrors);
    batches += other.batches;
    batchRows += other.batchRows;
  }

  private static void add(double[] into, double[] from) {
    for (int i = 0; i < into.length; i++) {
      into[i] += from[i];
    }
  }

  int features() {
    return features;
  }

  double sum(int quantity, int j) {
    return sums[quantity * features + j];
  }

  long clips(int kind, int j) {
    return clips[kind * features + j];
  }

  long batchRows() {
    return batchRows;
  }

  /** The distribution of {@code |mu_B - mu| / sqrt(var_pop)} over (batch, feature) pairs. */
  ErrorHistogram meanErrors() {
    return meanErrors;
  }

  /** The distribution of {@code |sigma2_B - var_pop| / var_pop} over (batch, feature) pairs. */
  ErrorHistogram varErrors() {
    return varErrors;
  }

  /** The segment sums of segment {@code k}, or null if no batch fell into it. */
  double[] segment(int k) {
    return segments.get(k);
  }
}
