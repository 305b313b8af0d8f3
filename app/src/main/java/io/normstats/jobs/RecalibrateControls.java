package io.normstats.jobs;

import io.normstats.InputException;
import io.normstats.onnx.spark.NetworkRecalibration;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import picocli.CommandLine.Option;

/**
 * The recalibrate job's controls of what is recomputed and compared (a picocli mixin): which
 * layers, how much of the stored statistics to keep, which approximations to run beside the exact
 * statistics. The peers' knobs: NNCF and mmpretrain recompute on a sample, Schneider et al. 2020
 * mix the source statistics in, AIMET and update_bn skip the comparisons.
 */
public final class RecalibrateControls {
  @Option(names = "--layers", split = ",", paramLabel = "GLOB",
      description = "Only these BatchNorms are recomputed (node names or parameter prefixes such "
          + "as net.layer4.*; * any characters, ? one); the others keep their stored statistics.")
  List<String> layers;

  @Option(names = "--prior-weight", paramLabel = "W",
      description = "Mix the stored statistics in, bottom-up: W * stored + (1 - W) * exact for "
          + "mean and variance, W in [0, 1] (default: ${DEFAULT-VALUE}, exact).")
  double priorWeight;

  @Option(names = "--sample-rows", paramLabel = "N",
      description = "Recalibrate on exactly N rows: those with the smallest hash of (seed, the "
          + "row's position in the input), the same rows for any partitioning (default: all).")
  Long sampleRows;

  @Option(names = "--seed", defaultValue = "0", paramLabel = "S",
      description = "The seed of --sample-rows (default: ${DEFAULT-VALUE}).")
  long seed;

  @Option(names = "--fold",
      description = "Also write DIR/model_folded.onnx: each recalibrated BatchNorm folded into "
          + "the Conv, ConvTranspose or Gemm before it (in double, then the stored type).")
  boolean fold;

  @Option(names = "--activation-cache", defaultValue = "auto", paramLabel = "MODE",
      description = "on: each pass starts from the values the previous one cut, persisted by "
          + "Spark; off: from the input; auto (default): every cut but the first, where it and "
          + "the cut before it fit in half the free space of Spark's local directories. The "
          + "same bits either way.")
  String activationCache;

  @Option(names = "--approximations", defaultValue = "one_pass,precise_bn", paramLabel = "LIST",
      description = "The comparison passes to run: one_pass, precise_bn, both (default: "
          + "${DEFAULT-VALUE}) or none.")
  String approximations;

  /** The settings with these controls. */
  NetworkRecalibration.Settings apply(NetworkRecalibration.Settings s) {
    return new NetworkRecalibration.Settings(s.inputName(), s.batchSize(), s.sampleVariance(),
        s.preciseBnBatchSize(), layers, priorWeight,
        sampleRows == null ? null : new NetworkRecalibration.Sample(sampleRows, seed),
        activationCache());
  }

  /**
   * The activation cache mode.
   *
   * @throws InputException (usage) for a mode other than auto, on or off
   */
  NetworkRecalibration.ActivationCache activationCache() {
    FitJob.check("--activation-cache", activationCache, "auto", "on", "off");
    return NetworkRecalibration.ActivationCache.valueOf(activationCache.toUpperCase(
        java.util.Locale.ROOT));
  }

  /**
   * The approximations asked for.
   *
   * @throws InputException (usage) for a name other than one_pass, precise_bn or none
   */
  Set<NetworkRecalibration.Approximation> approximations() {
    Set<NetworkRecalibration.Approximation> out =
        EnumSet.noneOf(NetworkRecalibration.Approximation.class);
    String list = approximations.strip();
    if (list.equals("none")) {
      return out;
    }
    for (String name : list.split(",")) {
      NetworkRecalibration.Approximation match = null;
      for (NetworkRecalibration.Approximation a : NetworkRecalibration.Approximation.values()) {
        if (a.label().equals(name.strip())) {
          match = a;
        }
      }
      if (match == null) {
        throw InputException.usage("--approximations: unknown '" + name.strip()
            + "' (one_pass, precise_bn or none)");
      }
      out.add(match);
    }
    return out;
  }
}
