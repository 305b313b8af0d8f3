package io.normstats.ml;

import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamValidators;
import org.apache.spark.ml.param.Params;

/**
 * The params of the stages that run an ONNX network ({@link BatchNormRecalibration} and the
 * {@link RecalibratedNetworkModel} it fits), declared once: the getters and setters here, the
 * Param objects and their defaults by {@link #declare}. A stage implements the accessors by
 * returning its own Param fields (Spark finds params by their public accessors).
 *
 * <ul>
 *   <li>inputCol: a Vector, array&lt;double&gt; or array&lt;float&gt; column, each row laid out
 *       row-major into the network input's item shape (for [N, 1, 28, 28], 784 values);</li>
 *   <li>outputCol: the Vector column the model writes (default {@code uid + "__output"});</li>
 *   <li>batchSize: rows per ONNX Runtime run (default 64; the results do not depend on it);</li>
 *   <li>inputName: the network input fed (unset: the network's only input);</li>
 *   <li>outputName: the network output the model writes (unset: its first output).</li>
 * </ul>
 *
 * @param <T> the stage's own type, which the setters return
 */
public interface NetworkParams<T extends NetworkParams<T>> extends Params {

  /** The input column. */
  Param<String> inputCol();

  /** The output column. */
  Param<String> outputCol();

  /** Rows per ONNX Runtime run. */
  IntParam batchSize();

  /** The network input fed. */
  Param<String> inputName();

  /** The network output written. */
  Param<String> outputName();

  /** The Param objects of a stage with the given uid's params, in the accessors' order. */
  record Declared(Param<String> inputCol, Param<String> outputCol, IntParam batchSize,
      Param<String> inputName, Param<String> outputName) {}

  /** Creates the params of {@code stage}; call {@link #defaults} once its accessors work. */
  static Declared declare(Params stage) {
    return new Declared(StageParams.inputCol(stage), StageParams.outputCol(stage),
        new IntParam(stage, "batchSize", "rows per ONNX Runtime run (the results do not depend "
            + "on it)", ParamValidators.gtEq(1)),
        new Param<>(stage, "inputName", "the network input the rows feed (default: its only "
            + "input)"),
        new Param<>(stage, "outputName", "the network output written as the output column "
            + "(default: its first output)"));
  }

  /** Sets the defaults: outputCol {@code uid + "__output"}, batchSize 64. */
  static void defaults(NetworkParams<?> stage) {
    stage.setDefault(stage.outputCol(), stage.uid() + "__output");
    stage.setDefault(stage.batchSize(), (Object) 64);
  }

  default String getInputCol() {
    return getOrDefault(inputCol());
  }

  default String getOutputCol() {
    return getOrDefault(outputCol());
  }

  default int getBatchSize() {
    return (Integer) getOrDefault(batchSize());
  }

  /** The network input, or null for the network's only one. */
  default String getInputName() {
    return isDefined(inputName()) ? getOrDefault(inputName()) : null;
  }

  /** The network output, or null for its first. */
  default String getOutputName() {
    return isDefined(outputName()) ? getOrDefault(outputName()) : null;
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
  default T setBatchSize(int value) {
    set(batchSize(), (Object) value);
    return (T) this;
  }

  @SuppressWarnings("unchecked")
  default T setInputName(String value) {
    set(inputName(), value);
    return (T) this;
  }

  @SuppressWarnings("unchecked")
  default T setOutputName(String value) {
    set(outputName(), value);
    return (T) this;
  }
}
