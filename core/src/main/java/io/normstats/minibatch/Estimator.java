package io.normstats.minibatch;

/**
 * The estimates of the dataset mean and variance that deep-learning frameworks use or that the
 * literature proposes, each computed from the minibatch moments mu_B, sigma2_B (biased, /m) and
 * s2_B (unbiased, /(m-1)) of the batches in training order. Their names appear in the output.
 */
public enum Estimator {
  /**
   * One minibatch's own mu_B and sigma2_B, what training-mode BatchNorm normalizes with. Its errors
   * are the root mean square over batches of each batch's error; its estimate is the mean over
   * batches.
   */
  BATCH("batch"),
  /** Ioffe and Szegedy 2015 (arXiv:1502.03167), Algorithm 2: mean of mu_B, m/(m-1) * mean of sigma2_B. */
  AVERAGE("average"),
  /**
   * PyTorch BatchNorm running stats: {@code r = (1-a)*r + a*mu_B}, {@code v = (1-a)*v + a*s2_B},
   * from r = 0, v = 1 (torch/nn/modules/batchnorm.py).
   */
  EMA_TORCH("ema-torch"),
  /**
   * Keras BatchNormalization moving stats: {@code r = b*r + (1-b)*mu_B},
   * {@code v = b*v + (1-b)*sigma2_B}, from 0 and 1.
   */
  EMA_KERAS("ema-keras"),
  /**
   * PyTorch with {@code momentum=None} (cumulative moving average), as
   * {@code torch.optim.swa_utils.update_bn} uses: equal-weight means of mu_B and of s2_B.
   */
  CMA("cma"),
  /**
   * fvcore PreciseBN's population estimator ({@code fvcore/nn/precise_bn.py},
   * {@code _PopulationVarianceEstimator}): batch-size-weighted E[x^2] - E[x]^2 over the batches.
   */
  PRECISE("precise");

  private final String wireName;

  Estimator(String wireName) {
    this.wireName = wireName;
  }

  /** The name in the output, e.g. {@code ema-torch}. */
  public String wireName() {
    return wireName;
  }

  /** Whether the estimate evolves step by step, so that it has a trace. */
  public boolean hasTrace() {
    return this == EMA_TORCH || this == EMA_KERAS || this == CMA;
  }
}
