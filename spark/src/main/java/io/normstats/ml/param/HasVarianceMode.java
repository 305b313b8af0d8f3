package io.normstats.ml.param;

import java.util.List;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamValidators;

/**
 * varianceMode: "population" (default: /n, what BatchNorm normalizes with) or "sample" (/(n-1),
 * as Spark's StandardScaler and PyTorch's running_var).
 *
 * @param <T> the stage's own type, which the setter returns
 */
public interface HasVarianceMode<T> extends HasStageParams {

  /** varianceMode. */
  default Param<String> varianceMode() {
    return stageParams().get("varianceMode", p -> new Param<>(p, "varianceMode",
        "'population' (/n, what BatchNorm normalizes with) or 'sample' (/(n-1), as "
            + "StandardScaler and PyTorch's running_var)",
        ParamValidators.inArray(List.of("population", "sample"))));
  }

  /** "population" or "sample". */
  default String getVarianceMode() {
    return getOrDefault(varianceMode());
  }

  /** Sets the variance: "population" (/n) or "sample" (/(n-1)). */
  @SuppressWarnings("unchecked")
  default T setVarianceMode(String value) {
    set(varianceMode(), value);
    return (T) this;
  }
}
