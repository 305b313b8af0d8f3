package io.normstats.report;

import io.normstats.minibatch.CompareSettings;
import io.normstats.minibatch.Comparison;
import io.normstats.minibatch.LinearHistogram;
import io.normstats.onnx.EvaluationResult;
import io.normstats.onnx.RecalibrationDescription;
import io.normstats.onnx.RecalibrationResult;
import io.normstats.result.DatasetStatistics;
import io.normstats.result.FeatureStatistics;
import io.normstats.result.PixelStatistics;
import java.util.List;
import java.util.Map;

/**
 * Everything a report shows.
 *
 * @param input the input path as given
 * @param partitions the input's Spark partitions
 * @param sparkVersion the Spark version
 * @param master the Spark master URL
 * @param phases wall seconds of each phase, in order
 * @param exact the exact statistics
 * @param settings the comparison's settings
 * @param comparison the comparison
 * @param distribution the single-batch means of the feature where they err most, or null
 * @param imageShape {C, H, W} when the features are images in channel-major order, else null
 * @param network the recalibration of a network's BatchNorm layers on the input, or null
 * @param images for image inputs, the exact per-channel statistics of their pixel values (after
 *     the report's resize and crop) and their level histograms, or null
 */
public record ReportData(String input, int partitions, String sparkVersion, String master,
    Map<String, Double> phases, DatasetStatistics exact, CompareSettings settings,
    Comparison.Result comparison, BatchMeanDistribution distribution, int[] imageShape,
    Network network, PixelStatistics images) {

  /**
   * A network's BatchNorm layers recalibrated on the report's input.
   *
   * @param description what it ran on
   * @param result the exact statistics, and the one_pass and precise_bn approximations
   * @param evaluation the four models' predictions on the evaluation input, or null
   */
  public record Network(RecalibrationDescription description,
      RecalibrationResult result, EvaluationResult evaluation) {}

  /**
   * The distribution of single-minibatch means of one feature at one batch size.
   *
   * @param feature the feature's index
   * @param name the feature's name
   * @param batchSize m
   * @param exactMean the exact mean, marked on the chart
   * @param histogram the batch means
   */
  public record BatchMeanDistribution(int feature, String name, int batchSize, double exactMean,
      LinearHistogram histogram) {}

  /** The rows of the exact statistics. */
  public long rows() {
    return exact.rows();
  }

  /** The features. */
  public List<FeatureStatistics> features() {
    return exact.features();
  }
}
