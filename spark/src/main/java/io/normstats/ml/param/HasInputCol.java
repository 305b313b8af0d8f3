package io.normstats.ml.param;

import org.apache.spark.ml.param.Param;

/**
 * inputCol: the column a stage reads, a Vector (dense or sparse), {@code array<double>} or
 * {@code array<float>} column, one vector per row.
 *
 * @param <T> the stage's own type, which the setter returns
 */
public interface HasInputCol<T> extends HasStageParams {

  /** The input column. */
  default Param<String> inputCol() {
    return stageParams().get("inputCol", p -> new Param<>(p, "inputCol",
        "input column: a Vector (dense or sparse), array<double> or array<float> column"));
  }

  /** The input column's name. */
  default String getInputCol() {
    return getOrDefault(inputCol());
  }

  /** Sets the input column. */
  @SuppressWarnings("unchecked")
  default T setInputCol(String value) {
    set(inputCol(), value);
    return (T) this;
  }
}
