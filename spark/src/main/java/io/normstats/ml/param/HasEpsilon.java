package io.normstats.ml.param;

import io.normstats.Defaults;
import org.apache.spark.ml.param.DoubleParam;
import org.apache.spark.ml.param.ParamValidators;

/**
 * epsilon: added to the variance (RMSNorm: the mean square) before the square root, at least 0.
 * Default {@link Defaults#EPSILON} (PyTorch's BatchNorm, LayerNorm and GroupNorm); RMSNorm's is
 * {@link Defaults#RMS_NORM_EPSILON}.
 *
 * @param <T> the stage's own type, which the setter returns
 */
public interface HasEpsilon<T> extends HasStageParams {

  /** Epsilon. */
  default DoubleParam epsilon() {
    return stageParams().get("epsilon", p -> new DoubleParam(p, "epsilon", "added to the "
        + "variance (RMSNorm: the mean square) before the square root, at least 0",
        ParamValidators.gtEq(0)));
  }

  /** The epsilon. */
  default double getEpsilon() {
    return (Double) getOrDefault(epsilon());
  }

  /** Sets epsilon (at least 0). */
  @SuppressWarnings("unchecked")
  default T setEpsilon(double value) {
    set(epsilon(), (Object) value);
    return (T) this;
  }
}
