package io.normstats.result;

import java.util.List;

/**
 * The statistics of the pixels of an image dataset, per channel.
 *
 * @param statistics one feature per channel, named by its letter (R, G, B; L; A), count = the
 *     pixels; {@code rows()} = the images counted
 * @param images the images counted
 * @param skipped the images left out (undecodable or null, when told to skip them)
 * @param skippedImages the first of them (at most 100), sorted, each with why
 * @param smallest the image of fewest pixels (then the lower, then the narrower)
 * @param largest the image of most pixels
 * @param bitDepths the level depths seen: 8, 16 or both
 * @param histograms per channel, the pixels of each 8-bit level (16-bit levels by their high
 *     byte): {@code [channels][256]}
 */
public record PixelStatistics(DatasetStatistics statistics, long images, long skipped,
    List<String> skippedImages, ImageSize smallest, ImageSize largest, List<Integer> bitDepths,
    long[][] histograms) {
  /** Per channel, the mean: the first list of torchvision's {@code transforms.Normalize}. */
  public double[] normalizeMean() {
    return statistics.features().stream().mapToDouble(f -> f.moments().mean()).toArray();
  }

  /** Per channel, the population standard deviation: Normalize's second list. */
  public double[] normalizeStd() {
    return statistics.features().stream().mapToDouble(f -> f.moments().stdPop()).toArray();
  }
}
