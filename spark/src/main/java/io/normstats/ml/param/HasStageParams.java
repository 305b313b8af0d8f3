package io.normstats.ml.param;

import org.apache.spark.ml.param.Params;

/** A stage whose params the shared traits of this package declare: it holds their objects. */
public interface HasStageParams extends Params {

  /** The stage's Param objects (created by its constructor). */
  StageParams stageParams();
}
