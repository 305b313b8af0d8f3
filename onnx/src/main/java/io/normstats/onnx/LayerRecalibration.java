package io.normstats.onnx;

import io.normstats.exact.ExactMoments;
import io.normstats.minibatch.EstimateErrors;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One BatchNormalization layer's recalibration: its exact statistics, what was written, and the
 * approximations beside them.
 *
 * @param layer the layer, as the input model stores it
 * @param exact the exact moments of its input per channel, {@code [C]}, with every upstream
 *     layer recalibrated
 * @param written {mean, variance} as written to the recalibrated model ({@code [C]} each, in the
 *     layer's element type)
 * @param onePass the one_pass approximation's moments, or null
 * @param preciseBn the precise_bn approximation's moments, or null
 */
public record LayerRecalibration(BatchNormLayer layer, ExactMoments[] exact, double[][] written,
    ExactMoments[] onePass, ExactMoments[] preciseBn) {

  /**
   * Each estimate's errors against the exact statistics: "stored", and "one_pass" and
   * "precise_bn" when computed; each estimate as the model would store it (rounded to the
   * layer's element type), against the exact statistics in the given variance mode.
   */
  public Map<String, EstimateErrors> errors(boolean sample) {
    int c = layer.channels();
    double[] mean = new double[c];
    double[] var = new double[c];
    List<String> names = new ArrayList<>(c);
    for (int j = 0; j < c; j++) {
      mean[j] = exact[j].mean();
      var[j] = sample ? exact[j].varSamp() : exact[j].varPop();
      names.add(layer.node() + "[" + j + "]");
    }
    Map<String, EstimateErrors> out = new LinkedHashMap<>();
    out.put("stored", EstimateErrors.of(names, mean, var, layer.storedMean(),
        layer.storedVariance(), layer.epsilon()));
    if (onePass != null) {
      double[][] e = layer.round(onePass, sample);
      out.put("one_pass", EstimateErrors.of(names, mean, var, e[0], e[1], layer.epsilon()));
    }
    if (preciseBn != null) {
      double[][] e = layer.round(preciseBn, sample);
      out.put("precise_bn", EstimateErrors.of(names, mean, var, e[0], e[1],
          layer.epsilon()));
    }
    return out;
  }
}
