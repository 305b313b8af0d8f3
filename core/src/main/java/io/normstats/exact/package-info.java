/**
 * The numeric core of normstats: exact, order-independent sums and moments of doubles, in plain Java
 * with no Spark dependency.
 *
 * <ul>
 *   <li>{@link io.normstats.exact.ExactSums}: a bank of exact sums of doubles and of squares of
 *       doubles (small superaccumulators after R. M. Neal, "Fast exact summation using small and large
 *       superaccumulators", arXiv:1505.05571). Adding is allocation-free; merging is exact, so any
 *       partitioning or order of the terms gives the same value.</li>
 *   <li>{@link io.normstats.exact.CorrectRounding}: one correctly rounded conversion (round half to
 *       even) of an exact rational, or of its square root, to a double.</li>
 *   <li>{@link io.normstats.exact.MomentAccumulator}: per-feature count, exact sum of x and x^2, min,
 *       max, null and NaN counts; {@link io.normstats.exact.FeatureMoments} is its rounded result:
 *       mean, var_pop, var_samp, std_pop, std_samp; {@link io.normstats.exact.ExactMoments} the
 *       exact moments behind it, rounded once to double or to float.</li>
 * </ul>
 */
package io.normstats.exact;
