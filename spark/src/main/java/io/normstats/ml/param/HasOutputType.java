package io.normstats.ml.param;

import java.util.List;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamValidators;

/**
 * outputType of a normalization: "vector" (default, a dense Vector) or "array" (the input's array
 * type, {@code array<double>} for a Vector input).
 *
 * @param <T> the stage's own type, which the setter returns
 */
public interface HasOutputType<T> extends HasStageParams {

  /** outputType. */
  default Param<String> outputType() {
    return stageParams().get("outputType", p -> new Param<>(p, "outputType", "'vector' "
        + "(default): a dense Vector; 'array': the input's array type (array<double> for a "
        + "Vector input)", ParamValidators.inArray(List.of("vector", "array"))));
  }

  /** "vector" or "array". */
  default String getOutputType() {
    return getOrDefault(outputType());
  }

  /** Sets the output type: "vector" or "array". */
  @SuppressWarnings("unchecked")
  default T setOutputType(String value) {
    set(outputType(), value);
    return (T) this;
  }
}
