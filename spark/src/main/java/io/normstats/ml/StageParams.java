package io.normstats.ml;

import java.util.List;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.param.DoubleParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamValidators;
import org.apache.spark.ml.param.Params;

/**
 * The params the normalization stages share, with their names, docs and validators (Spark's shared
 * param traits such as HasInputCol are private to Spark, so the stages declare their own).
 */
final class StageParams {
  /** handleInvalid values, as Spark's own stages name them. */
  static final List<String> HANDLE_INVALID = List.of("error", "skip", "keep");
  /** outputType values. */
  static final List<String> OUTPUT_TYPES = List.of("vector", "array");

  private StageParams() {}

  static Param<String> inputCol(Params p) {
    return new Param<>(p, "inputCol",
        "input column: a Vector (dense or sparse), array<double> or array<float> column");
  }

  static Param<String> outputCol(Params p) {
    return new Param<>(p, "outputCol", "output column name");
  }

  static DoubleParam epsilon(Params p, String doc) {
    return new DoubleParam(p, "epsilon", doc, ParamValidators.gtEq(0));
  }

  static Param<String> handleInvalid(Params p, String doc) {
    return new Param<>(p, "handleInvalid", doc, ParamValidators.inArray(HANDLE_INVALID));
  }

  static Param<String> outputType(Params p) {
    return new Param<>(p, "outputType", "'vector' (default): a dense Vector; 'array': the "
        + "input's array type (array<double> for a Vector input)",
        ParamValidators.inArray(OUTPUT_TYPES));
  }

  static Param<Vector> weight(Params p, String shape) {
    return new Param<>(p, "weight", "gamma, the scale applied after normalizing, " + shape
        + " (default: ones)");
  }

  static Param<Vector> bias(Params p, String shape) {
    return new Param<>(p, "bias", "beta, the shift applied after normalizing, " + shape
        + " (default: zeros)");
  }

  static IntParam numChannels(Params p, String doc) {
    return new IntParam(p, "numChannels", doc, ParamValidators.gtEq(1));
  }

  static double[] array(Vector v) {
    return v == null ? null : v.toArray();
  }
}
