package io.normstats.ml.param;

import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.param.Param;

/**
 * weight: gamma, the scale applied after normalizing, one value per channel (per element without
 * numChannels); unset (the default), ones.
 *
 * @param <T> the stage's own type, which the setter returns
 */
public interface HasWeight<T> extends HasStageParams {

  /** weight (gamma). */
  default Param<Vector> weight() {
    return stageParams().get("weight", p -> new Param<>(p, "weight", "gamma, the scale applied "
        + "after normalizing, one per channel or element (default: ones)"));
  }

  /** Gamma, or null when unset (ones). */
  default Vector getWeight() {
    return isDefined(weight()) ? getOrDefault(weight()) : null;
  }

  /** Sets gamma, one value per channel (per element without numChannels). */
  @SuppressWarnings("unchecked")
  default T setWeight(Vector value) {
    set(weight(), value);
    return (T) this;
  }
}
