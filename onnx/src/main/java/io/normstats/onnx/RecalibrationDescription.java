package io.normstats.onnx;

import java.util.List;

/**
 * What a recalibration ran on, as its outputs describe it.
 *
 * @param model the model's path
 * @param input the input's path
 * @param variance "population" or "sample": the variance written
 * @param preciseBnBatchSize the minibatch size of precise_bn
 * @param evalInput the evaluation input's path, or null
 * @param labels the label file, {@code "column COL"}, or null
 * @param evalOutput the output whose argmax is the prediction
 * @param approximations the approximations run ("one_pass", "precise_bn"), in that order
 * @param layers the globs of the layers recomputed, empty for all
 * @param priorWeight the weight of the stored statistics in the written ones
 * @param seed the seed of the row sample, or null for all rows
 */
public record RecalibrationDescription(String model, String input, String variance,
    int preciseBnBatchSize, String evalInput, String labels, String evalOutput,
    List<String> approximations, List<String> layers, double priorWeight, Long seed) {
  /** Whether the sample variance (/(n-1)) is written. */
  public boolean sampleVariance() {
    return "sample".equals(variance);
  }
}
