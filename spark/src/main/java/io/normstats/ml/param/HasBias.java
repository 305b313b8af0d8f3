package io.normstats.ml.param;

import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.param.Param;

/**
 * bias: beta, the shift applied after normalizing, one value per channel (per element without
 * numChannels); unset (the default), zeros.
 *
 * @param <T> the stage's own type, which the setter returns
 */
public interface HasBias<T> extends HasStageParams {

  /** bias (beta). */
  default Param<Vector> bias() {
    return stageParams().get("bias", p -> new Param<>(p, "bias", "beta, the shift applied "
        + "after normalizing, one per channel or element (default: zeros)"));
  }

  /** Beta, or null when unset (zeros). */
  default Vector getBias() {
    return isDefined(bias()) ? getOrDefault(bias()) : null;
  }

  /** Sets beta, one value per channel (per element without numChannels). */
  @SuppressWarnings("unchecked")
  default T setBias(Vector value) {
    set(bias(), value);
    return (T) this;
  }
}
