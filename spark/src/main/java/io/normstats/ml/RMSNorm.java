package io.normstats.ml;

import io.normstats.Defaults;
import io.normstats.ml.param.HasWeight;
import io.normstats.norm.RmsNormalization;
import io.normstats.norm.VectorNormalization;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.Identifiable;
import org.apache.spark.ml.util.MLReader;

/**
 * RMSNorm (Zhang and Sennrich 2019, arXiv:1910.07467) as a Spark ML Transformer:
 * {@code y = gamma * x / sqrt(mean(x^2) + epsilon)} per row, as PyTorch's {@code RMSNorm} computes
 * it (see {@link RmsNormalization}).
 *
 * <p>Input: a Vector, array&lt;double&gt; or array&lt;float&gt; column of any length (a weight fixes
 * it). Output: a dense Vector, or the input's array type with {@code outputType = "array"}. Params:
 * those of {@link RowNormalizer} (epsilon default {@link io.normstats.Defaults#RMS_NORM_EPSILON},
 * PyTorch's {@code finfo(float64).eps}), and weight (one per element).
 */
public final class RMSNorm extends RowNormalizer<RMSNorm> implements HasWeight<RMSNorm> {
  private static final long serialVersionUID = 1L;

  /** An RMSNorm with the given uid. */
  public RMSNorm(String uid) {
    super(uid);
    setDefault(epsilon(), (Object) Defaults.RMS_NORM_EPSILON);
  }

  /** An RMSNorm with a random uid. */
  public RMSNorm() {
    this(Identifiable.randomUID("rmsNorm"));
  }

  @Override
  int fixedLength() {
    return isDefined(weight()) ? getWeight().size() : 0;
  }

  @Override
  VectorColumns.SerializableIntFunction<VectorNormalization> normalizations() {
    double eps = getEpsilon();
    double[] gamma = VectorColumns.array(getWeight());
    return length -> new RmsNormalization(length, eps, gamma);
  }

  /** The reader for saved RMSNorms (Pipeline persistence finds it by reflection). */
  public static MLReader<RMSNorm> read() {
    return new DefaultParamsReader<>();
  }

  /** Loads an RMSNorm saved with {@code write().save(path)}. */
  public static RMSNorm load(String path) {
    return read().load(path);
  }
}
