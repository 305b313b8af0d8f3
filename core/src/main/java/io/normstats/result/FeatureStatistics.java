package io.normstats.result;

import io.normstats.exact.FeatureMoments;

/**
 * The statistics of one feature (a column, a vector element, or a channel of channel-major
 * vectors), each correctly rounded from its exact value.
 *
 * @param name the feature's name as the outputs show it ({@code x}, {@code image[3]},
 *     {@code image[channel 0]})
 * @param index its position among the selected features, from 0
 * @param moments its count, mean, variances, extremes and invalid values
 */
public record FeatureStatistics(String name, int index, FeatureMoments moments) {}
