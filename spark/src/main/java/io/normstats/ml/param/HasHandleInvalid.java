package io.normstats.ml.param;

import java.util.List;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamValidators;

/**
 * handleInvalid, with Spark ML's name and values, for a null vector or a NaN or infinite element:
 * "error" (default) fails naming the column; "skip" leaves the row out (of a fit's statistics, and
 * of a transform's output); "keep" leaves the value out of a fit's statistics and outputs NaN (a
 * null for a null vector).
 *
 * @param <T> the stage's own type, which the setter returns
 */
public interface HasHandleInvalid<T> extends HasStageParams {

  /** The values, as Spark's own stages name them. */
  List<String> VALUES = List.of("error", "skip", "keep");

  /** handleInvalid. */
  default Param<String> handleInvalid() {
    return stageParams().get("handleInvalid", p -> new Param<>(p, "handleInvalid",
        "a null vector or a NaN/infinite element: 'error' fails; 'skip' leaves the row out (of "
            + "the fit and of the output); 'keep' leaves the value out of the statistics and "
            + "outputs NaN/null", ParamValidators.inArray(VALUES)));
  }

  /** "error", "skip" or "keep". */
  default String getHandleInvalid() {
    return getOrDefault(handleInvalid());
  }

  /** Sets handleInvalid: "error", "skip" or "keep". */
  @SuppressWarnings("unchecked")
  default T setHandleInvalid(String value) {
    set(handleInvalid(), value);
    return (T) this;
  }
}
