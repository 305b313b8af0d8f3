package io.normstats.onnx;

import java.util.List;

/**
 * What the versions of a network (stored, recalibrated, approximations) predict on an evaluation
 * input.
 *
 * @param rows the rows evaluated
 * @param versions the versions' names, in order
 * @param correct per version, the rows whose prediction equals the label; null without labels
 * @param changed per version, the rows whose prediction differs from the first version's
 */
public record EvaluationResult(long rows, List<String> versions, long[] correct, long[] changed) {
  /** The fraction of rows version v predicts right, or NaN without labels. */
  public double accuracy(int v) {
    return correct == null ? Double.NaN : (double) correct[v] / rows;
  }

  /** The fraction of rows whose prediction version v changes from the first version's. */
  public double changedFraction(int v) {
    return (double) changed[v] / rows;
  }
}
