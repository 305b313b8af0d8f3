package io.normstats.ml.param;

import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.ParamValidators;

/**
 * numChannels C: input vectors of length C*S are read channel-major (C blocks of S = H*W values,
 * PyTorch's NCHW with N the rows), one statistic per channel (BatchNorm2d); unset (the
 * default), every element is a channel (BatchNorm1d).
 *
 * @param <T> the stage's own type, which the setter returns
 */
public interface HasNumChannels<T> extends HasStageParams {

  /** numChannels. */
  default IntParam numChannels() {
    return stageParams().get("numChannels", p -> new IntParam(p, "numChannels", "channels C of "
        + "the channel-major input vectors (length C*H*W): one statistic per channel "
        + "(BatchNorm2d); unset: every element a channel (BatchNorm1d)",
        ParamValidators.gtEq(1)));
  }

  /** The channels, or 0 when unset (every element a channel). */
  default int getNumChannels() {
    return isDefined(numChannels()) ? (Integer) getOrDefault(numChannels()) : 0;
  }

  /** Sets the channels C of channel-major vectors. */
  @SuppressWarnings("unchecked")
  default T setNumChannels(int value) {
    set(numChannels(), (Object) value);
    return (T) this;
  }
}
