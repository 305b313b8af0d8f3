package io.normstats;

/**
 * The default of every setting that normstats' front ends share, declared once: the Spark ML
 * stages' params ({@code io.normstats.ml}), the command line's options (a picocli default value
 * provider in the jobs) and the Python wrappers (whose {@code normstats/_defaults.py} a test
 * generates from these constants and keeps equal to them). Each setting has one name everywhere:
 * the Spark ML param name in Java and Python (for example {@code handleInvalid}), the same in
 * kebab case on the command line ({@code --handle-invalid}).
 */
public final class Defaults {
  /**
   * BatchNorm's, LayerNorm's and GroupNorm's epsilon, added to the variance before the square
   * root: PyTorch's default ({@code torch.nn.BatchNorm2d(eps=1e-05)}).
   */
  public static final double EPSILON = 1e-5;

  /**
   * RMSNorm's epsilon, added to the mean square: PyTorch's {@code RMSNorm(eps=None)}, which takes
   * {@code torch.finfo(x.dtype).eps}, for float64 2^-52.
   */
  public static final double RMS_NORM_EPSILON = Math.ulp(1.0);

  /** PyTorch BatchNorm's momentum a: {@code running = (1 - a) * running + a * batch}. */
  public static final double MOMENTUM = 0.1;

  /** Keras BatchNormalization's momentum b: {@code moving = b * moving + (1 - b) * batch}. */
  public static final double KERAS_MOMENTUM = 0.99;

  /** varianceMode: "population" (/n, what BatchNorm normalizes with) or "sample" (/(n-1)). */
  public static final String VARIANCE_MODE = "population";

  /** handleInvalid (Spark ML's name and values): "error", "skip" or "keep". */
  public static final String HANDLE_INVALID = "error";

  /** outputType of the normalization stages: "vector" (a dense Vector) or "array". */
  public static final String OUTPUT_TYPE = "vector";

  /** GroupNorm's numGroups: 1 is LayerNorm. */
  public static final int NUM_GROUPS = 1;

  /** Rows per ONNX Runtime run (the results do not depend on it). */
  public static final int BATCH_SIZE = 64;

  /** PreciseBN's minibatch size (fvcore's default is the training loader's; 32 is common). */
  public static final int PRECISE_BN_BATCH_SIZE = 32;

  /** priorWeight W of the stored statistics when recalibrating: 0 is the exact statistics. */
  public static final double PRIOR_WEIGHT = 0.0;

  private Defaults() {}
}
