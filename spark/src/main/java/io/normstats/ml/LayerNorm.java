package io.normstats.ml;

import io.normstats.Defaults;
import io.normstats.ml.param.HasBias;
import io.normstats.ml.param.HasNumChannels;
import io.normstats.ml.param.HasWeight;
import io.normstats.norm.LayerNormalization;
import io.normstats.norm.VectorNormalization;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.ParamValidators;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.Identifiable;
import org.apache.spark.ml.util.MLReader;

/**
 * LayerNorm, and GroupNorm with {@link #setNumGroups}, as a Spark ML Transformer: each row's vector
 * is normalized with its own mean and biased variance, {@code y = gamma * (x - mean) /
 * sqrt(var + epsilon) + beta}, as PyTorch's {@code LayerNorm} (over the whole vector) and
 * {@code GroupNorm} (per group of consecutive channels) compute it. See {@link LayerNormalization}
 * for the layout and the numerics.
 *
 * <p>Input: a Vector (dense or sparse), array&lt;double&gt; or array&lt;float&gt; column of any
 * length, unless weight/bias without numChannels fix it. Output: a dense Vector, or the input's
 * array type with {@code outputType = "array"}. Params: those of {@link RowNormalizer} (epsilon
 * default 1e-5, PyTorch's), numGroups G (1), numChannels C (default: the vector length, every
 * element a channel; G must divide C and C the length), weight and bias (length C). A row of a
 * length the params cannot take fails naming the column. Saved and loaded with ML persistence
 * ({@link #write()}, {@link #load}).
 */
public final class LayerNorm extends RowNormalizer<LayerNorm>
    implements HasNumChannels<LayerNorm>, HasWeight<LayerNorm>, HasBias<LayerNorm> {
  private static final long serialVersionUID = 1L;

  private final IntParam numGroups;

  /** A LayerNorm with the given uid. */
  public LayerNorm(String uid) {
    super(uid);
    numGroups = new IntParam(this, "numGroups", "groups of consecutive channels normalized "
        + "separately: 1 for LayerNorm, G for GroupNorm", ParamValidators.gtEq(1));
    setDefault(numGroups, (Object) Defaults.NUM_GROUPS);
  }

  /** A LayerNorm with a random uid. */
  public LayerNorm() {
    this(Identifiable.randomUID("layerNorm"));
  }

  /** numGroups G: GroupNorm's groups of consecutive channels (default 1: LayerNorm). */
  public IntParam numGroups() {
    return numGroups;
  }

  /** The groups G. */
  public int getNumGroups() {
    return (Integer) getOrDefault(numGroups);
  }

  /** Sets the number of groups: GroupNorm with G groups of consecutive channels. */
  public LayerNorm setNumGroups(int value) {
    set(numGroups, (Object) value);
    return this;
  }

  /**
   * The vector length the params imply: without numChannels every element is a channel, so a weight
   * or bias fixes the length; otherwise 0 (any length that C divides).
   */
  @Override
  int fixedLength() {
    if (isDefined(numChannels())) {
      return 0;
    }
    if (isDefined(weight())) {
      return getWeight().size();
    }
    return isDefined(bias()) ? getBias().size() : 0;
  }

  @Override
  VectorColumns.SerializableIntFunction<VectorNormalization> normalizations() {
    int groups = getNumGroups();
    Integer channels = isDefined(numChannels()) ? getNumChannels() : null;
    double eps = getEpsilon();
    double[] gamma = VectorColumns.array(getWeight());
    double[] beta = VectorColumns.array(getBias());
    return length -> new LayerNormalization(length, groups, channels == null ? length : channels,
        eps, gamma, beta);
  }

  /** The reader for saved LayerNorms (Pipeline persistence finds it by reflection). */
  public static MLReader<LayerNorm> read() {
    return new DefaultParamsReader<>();
  }

  /** Loads a LayerNorm saved with {@code write().save(path)}. */
  public static LayerNorm load(String path) {
    return read().load(path);
  }
}
