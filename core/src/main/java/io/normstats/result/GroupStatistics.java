package io.normstats.result;

import io.normstats.exact.ScalarMoments;
import java.util.List;

/**
 * The statistics of one group of rows (the rows with equal values of the group-by columns).
 *
 * @param key the group-by columns' values, in order (a null for a null value)
 * @param rows the rows of the group
 * @param features one per selected feature, in selection order
 * @param states each feature's exact state, in the same order (to store and merge with later
 *     runs)
 */
public record GroupStatistics(List<Object> key, long rows, List<FeatureStatistics> features,
    List<ScalarMoments> states) {}
