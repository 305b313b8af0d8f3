package io.normstats.ml.param;

import org.apache.spark.ml.param.Param;

/**
 * outputCol: the column a stage writes (default {@code uid + "__output"}, as Spark's stages).
 *
 * @param <T> the stage's own type, which the setter returns
 */
public interface HasOutputCol<T> extends HasStageParams {

  /** The output column. */
  default Param<String> outputCol() {
    return stageParams().get("outputCol", p -> new Param<>(p, "outputCol", "output column name"));
  }

  /** The output column's name. */
  default String getOutputCol() {
    return getOrDefault(outputCol());
  }

  /** Sets the output column. */
  @SuppressWarnings("unchecked")
  default T setOutputCol(String value) {
    set(outputCol(), value);
    return (T) this;
  }
}
