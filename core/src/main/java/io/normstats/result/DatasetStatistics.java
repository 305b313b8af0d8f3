package io.normstats.result;

import io.normstats.exact.ScalarMoments;
import java.util.List;

/**
 * The statistics of every selected feature of a dataset, and the rows read. Rounded statistics
 * ({@code *Statistics}) are what the outputs show; {@code states} are the exact, mergeable states
 * they were rounded from ({@code *Moments} with a merge, stored to continue a later run).
 *
 * @param rows the rows read (invalid values included)
 * @param features one per selected feature, in selection order
 * @param states each feature's exact state, in the same order, or empty when not kept
 */
public record DatasetStatistics(long rows, List<FeatureStatistics> features,
    List<ScalarMoments> states) {
  /** Statistics without states. */
  public DatasetStatistics(long rows, List<FeatureStatistics> features) {
    this(rows, features, List.of());
  }
}
