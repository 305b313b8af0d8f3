package io.normstats.ml;

import io.normstats.Defaults;
import io.normstats.ml.param.HasStageParams;
import io.normstats.ml.param.StageParams;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamValidators;

/**
 * The params of the stages that run an ONNX network ({@link BatchNormRecalibration} and the
 * {@link RecalibratedNetworkModel} it fits), beside the shared traits inputCol and outputCol of
 * {@link io.normstats.ml.param} that both implement too, declared here once:
 *
 * <ul>
 *   <li>inputCol: a Vector, array&lt;double&gt; or array&lt;float&gt; column, each row laid out
 *       row-major into the network input's item shape (for [N, 1, 28, 28], 784 values);</li>
 *   <li>outputCol: the Vector column the model writes (default {@code uid + "__output"});</li>
 *   <li>batchSize: rows per ONNX Runtime run (default {@link Defaults#BATCH_SIZE}; the results do
 *       not depend on it);</li>
 *   <li>inputName: the network input fed (unset: the network's only input);</li>
 *   <li>outputName: the network output the model writes (unset: its first output).</li>
 * </ul>
 *
 * @param <T> the stage's own type, which the setters return
 */
public interface NetworkParams<T> extends HasStageParams {

  /** Rows per ONNX Runtime run. */
  default IntParam batchSize() {
    return stageParams().get("batchSize", p -> new IntParam(p, "batchSize", "rows per ONNX "
        + "Runtime run (the results do not depend on it)", ParamValidators.gtEq(1)));
  }

  /** The network input fed. */
  default Param<String> inputName() {
    return stageParams().get("inputName", p -> new Param<>(p, "inputName", "the network input "
        + "the rows feed (default: its only input)"));
  }

  /** The network output written. */
  default Param<String> outputName() {
    return stageParams().get("outputName", p -> new Param<>(p, "outputName", "the network "
        + "output written as the output column (default: its first output)"));
  }

  /** Sets the shared defaults ({@link StageParams#initialize}) and batchSize's. */
  static void initialize(NetworkParams<?> stage) {
    StageParams.initialize(stage);
    stage.setDefault(stage.batchSize(), (Object) Defaults.BATCH_SIZE);
  }

  /** Rows per ONNX Runtime run. */
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

  /** Sets the rows per ONNX Runtime run (at least 1). */
  @SuppressWarnings("unchecked")
  default T setBatchSize(int value) {
    set(batchSize(), (Object) value);
    return (T) this;
  }

  /** Sets the network input the rows feed. */
  @SuppressWarnings("unchecked")
  default T setInputName(String value) {
    set(inputName(), value);
    return (T) this;
  }

  /** Sets the network output written as the output column. */
  @SuppressWarnings("unchecked")
  default T setOutputName(String value) {
    set(outputName(), value);
    return (T) this;
  }
}
