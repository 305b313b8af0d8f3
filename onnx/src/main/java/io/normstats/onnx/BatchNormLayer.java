package io.normstats.onnx;

import io.normstats.exact.ExactMoments;

/**
 * One ONNX {@code BatchNormalization} node in inference mode (opset 15 semantics, channel axis 1):
 * {@code Y = (X - input_mean) / sqrt(input_var + epsilon) * scale + B} per channel, for X of shape
 * {@code [N, C]} (BatchNorm1d) or {@code [N, C, D1, ...]} (BatchNorm2d/3d: each channel over all
 * N*D1*... values).
 *
 * @param node the node's name (unique in the graph; {@code BatchNormalization(output)} when the
 *     model leaves it unnamed)
 * @param input X, the tensor the layer normalizes: what its statistics are of
 * @param output Y
 * @param scale the initializer holding gamma, {@code [C]}
 * @param bias the initializer holding beta, {@code [C]}
 * @param mean the initializer holding input_mean, {@code [C]} (PyTorch export: {@code running_mean})
 * @param variance the initializer holding input_var, {@code [C]} (PyTorch export: the unbiased
 *     {@code running_var})
 * @param epsilon the epsilon attribute (a float in ONNX; 1e-5 by default)
 * @param channels C
 * @param statsType the element type of input_mean and input_var, which recalibrated statistics keep
 * @param storedMean input_mean as stored, {@code [C]}
 * @param storedVariance input_var as stored, {@code [C]}
 * @param scaleValues gamma, {@code [C]}
 * @param biasValues beta, {@code [C]}
 * @param level 0 when X depends on no BatchNormalization; else 1 + the highest level of the
 *     BatchNormalizations X depends on
 */
public record BatchNormLayer(String node, String input, String output, String scale, String bias,
    String mean, String variance, double epsilon, int channels, ElementType statsType,
    double[] storedMean, double[] storedVariance, double[] scaleValues, double[] biasValues,
    int level) {

  /**
   * The statistics as this layer stores them: each value the nearest {@link #statsType()} to the
   * exact one (rounded once from the exact rational for float, not via double).
   *
   * @param moments the exact moments of each channel, {@code [C]}
   * @param sample the sample variance (/(n-1), PyTorch's running_var convention) instead of the
   *     population variance (/n)
   * @return {mean, variance}, each {@code [C]}, as doubles holding the stored values exactly
   * @throws IllegalArgumentException if there are not C moments
   */
  public double[][] round(ExactMoments[] moments, boolean sample) {
    if (moments.length != channels) {
      throw new IllegalArgumentException(node + " has " + channels + " channels, given "
          + moments.length + " moments");
    }
    double[] m = new double[channels];
    double[] v = new double[channels];
    for (int c = 0; c < channels; c++) {
      ExactMoments e = moments[c];
      m[c] = e.mean(statsType.format());
      v[c] = sample ? e.varSamp(statsType.format()) : e.varPop(statsType.format());
    }
    return new double[][] {m, v};
  }
}
