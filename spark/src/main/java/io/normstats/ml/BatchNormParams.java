package io.normstats.ml;

import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.param.DoubleParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.Params;

/**
 * The params of {@link BatchNorm} and the {@link BatchNormModel} it fits, declared once: the
 * getters and setters here, the Param objects and their defaults by {@link #declare} and
 * {@link #defaults}. A stage implements the accessors by returning its declared Params (Spark finds
 * params by their public accessors).
 *
 * <ul>
 *   <li>inputCol: a Vector (dense or sparse), array&lt;double&gt; or array&lt;float&gt; column;</li>
 *   <li>outputCol: the normalized column (default {@code uid + "__output"});</li>
 *   <li>epsilon: added to the variance (default 1e-5, as PyTorch's BatchNorm);</li>
 *   <li>varianceMode: "population" (default: /n, what BatchNorm normalizes with) or "sample"
 *       (/(n-1), as Spark's StandardScaler);</li>
 *   <li>numChannels C: unset, one statistic per vector element (BatchNorm1d); set, vectors of
 *       length C*H*W in channel-major order get one statistic per channel (BatchNorm2d);</li>
 *   <li>weight and bias: gamma and beta, one per feature or channel (default ones and zeros);</li>
 *   <li>handleInvalid: "error" (default), "skip" or "keep", for a null vector or a NaN/infinite
 *       element;</li>
 *   <li>outputType: "vector" (default, a dense Vector) or "array" (the input's array type).</li>
 * </ul>
 *
 * @param <T> the stage's own type, which the setters return
 */
public interface BatchNormParams<T extends BatchNormParams<T>> extends Params {

  /** The input column. */
  Param<String> inputCol();

  /** The output column. */
  Param<String> outputCol();

  /** Added to the variance. */
  DoubleParam epsilon();

  /** "population" or "sample". */
  Param<String> varianceMode();

  /** Channels C of channel-major input vectors. */
  IntParam numChannels();

  /** Gamma, one per feature or channel. */
  Param<Vector> weight();

  /** Beta, one per feature or channel. */
  Param<Vector> bias();

  /** "error", "skip" or "keep". */
  Param<String> handleInvalid();

  /** "vector" or "array". */
  Param<String> outputType();

  /** The Param objects of one stage, in the accessors' order. */
  record Declared(Param<String> inputCol, Param<String> outputCol, DoubleParam epsilon,
      Param<String> varianceMode, IntParam numChannels, Param<Vector> weight, Param<Vector> bias,
      Param<String> handleInvalid, Param<String> outputType) {}

  /** Creates the params of {@code stage}; call {@link #defaults} once its accessors work. */
  static Declared declare(Params stage) {
    return new Declared(StageParams.inputCol(stage), StageParams.outputCol(stage),
        StageParams.epsilon(stage, "added to the variance (default 1e-5, as PyTorch)"),
        BatchNorm.varianceModeParam(stage),
        StageParams.numChannels(stage, "channels C of the channel-major input vectors: one "
            + "statistic per channel (BatchNorm2d); unset: one per element (BatchNorm1d)"),
        StageParams.weight(stage, "one per feature or channel"),
        StageParams.bias(stage, "one per feature or channel"),
        StageParams.handleInvalid(stage, "a null vector or a NaN/infinite element: 'error' fails; "
            + "'skip' leaves the row out of the fit and the model drops it; 'keep' leaves the "
            + "value out of the statistics and the model outputs NaN/null"),
        StageParams.outputType(stage));
  }

  /**
   * Sets the defaults: outputCol {@code uid + "__output"}, epsilon 1e-5, varianceMode
   * "population", handleInvalid "error", outputType "vector".
   */
  static void defaults(BatchNormParams<?> stage) {
    stage.setDefault(stage.outputCol(), stage.uid() + "__output");
    stage.setDefault(stage.epsilon(), (Object) 1e-5);
    stage.setDefault(stage.varianceMode(), "population");
    stage.setDefault(stage.handleInvalid(), "error");
    stage.setDefault(stage.outputType(), "vector");
  }

  default String getInputCol() {
    return getOrDefault(inputCol());
  }

  default String getOutputCol() {
    return getOrDefault(outputCol());
  }

  default double getEpsilon() {
    return (Double) getOrDefault(epsilon());
  }

  default String getVarianceMode() {
    return getOrDefault(varianceMode());
  }

  /** The channels, or 0 when unset (one statistic per element). */
  default int getNumChannels() {
    return isDefined(numChannels()) ? (Integer) getOrDefault(numChannels()) : 0;
  }

  /** Gamma, or null when unset (ones). */
  default Vector getWeight() {
    return isDefined(weight()) ? getOrDefault(weight()) : null;
  }

  /** Beta, or null when unset (zeros). */
  default Vector getBias() {
    return isDefined(bias()) ? getOrDefault(bias()) : null;
  }

  default String getHandleInvalid() {
    return getOrDefault(handleInvalid());
  }

  default String getOutputType() {
    return getOrDefault(outputType());
  }

  @SuppressWarnings("unchecked")
  default T setInputCol(String value) {
    set(inputCol(), value);
    return (T) this;
  }

  @SuppressWarnings("unchecked")
  default T setOutputCol(String value) {
    set(outputCol(), value);
    return (T) this;
  }

  @SuppressWarnings("unchecked")
  default T setEpsilon(double value) {
    set(epsilon(), (Object) value);
    return (T) this;
  }

  /** "population" (default) or "sample". */
  @SuppressWarnings("unchecked")
  default T setVarianceMode(String value) {
    set(varianceMode(), value);
    return (T) this;
  }

  /** One statistic per channel of C channel-major channels (BatchNorm2d). */
  @SuppressWarnings("unchecked")
  default T setNumChannels(int value) {
    set(numChannels(), (Object) value);
    return (T) this;
  }

  /** Gamma, one value per feature (or per channel with numChannels). */
  @SuppressWarnings("unchecked")
  default T setWeight(Vector value) {
    set(weight(), value);
    return (T) this;
  }

  /** Beta, one value per feature (or per channel with numChannels). */
  @SuppressWarnings("unchecked")
  default T setBias(Vector value) {
    set(bias(), value);
    return (T) this;
  }

  @SuppressWarnings("unchecked")
  default T setHandleInvalid(String value) {
    set(handleInvalid(), value);
    return (T) this;
  }

  @SuppressWarnings("unchecked")
  default T setOutputType(String value) {
    set(outputType(), value);
    return (T) this;
  }
}
