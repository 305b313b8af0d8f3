package io.normstats.testing;

import com.fasterxml.jackson.databind.JsonNode;
import io.normstats.exact.FeatureMoments;

/** Reads a feature of the stats job's stats.json back into a FeatureMoments, for the oracle. */
public final class StatsJson {
  private StatsJson() {}

  /** A statistic: null is NaN (undefined), "Infinity" strings are infinities. */
  public static double num(JsonNode n) {
    return n.isNull() ? Double.NaN : n.isTextual() ? Double.parseDouble(n.asText()) : n.doubleValue();
  }

  /** One element of stats.json's "features" array. */
  public static FeatureMoments moments(JsonNode f) {
    return new FeatureMoments(f.get("count").asLong(), num(f.get("mean")), num(f.get("var_pop")),
        num(f.get("var_samp")), num(f.get("std_pop")), num(f.get("std_samp")), num(f.get("min")),
        num(f.get("max")), f.get("null_count").asLong(), f.get("nan_count").asLong());
  }
}
