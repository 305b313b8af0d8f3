package io.normstats.jobs;

import io.normstats.Defaults;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * The defaults of the options that name a setting the Spark ML stages and the Python wrappers
 * share, taken from {@link Defaults} (picocli's default value provider: the options declare no
 * default of their own, and {@code ${DEFAULT-VALUE}} in their descriptions shows these). Each
 * option is the stage param's name in kebab case: {@code --handle-invalid} is handleInvalid.
 */
final class OptionDefaults implements CommandLine.IDefaultValueProvider {
  private static final Map<String, String> BY_OPTION = Map.of(
      "--epsilon", text(Defaults.EPSILON),
      "--momentum", text(Defaults.MOMENTUM),
      "--keras-momentum", text(Defaults.KERAS_MOMENTUM),
      "--variance-mode", Defaults.VARIANCE_MODE,
      "--handle-invalid", Defaults.HANDLE_INVALID,
      "--batch-size", text(Defaults.BATCH_SIZE),
      "--precise-bn-batch-size", text(Defaults.PRECISE_BN_BATCH_SIZE),
      "--prior-weight", text(Defaults.PRIOR_WEIGHT));

  @Override
  public String defaultValue(ArgSpec arg) {
    if (!(arg instanceof OptionSpec option)) {
      return null;
    }
    String name = option.longestName();
    if (name.equals("--epsilon") && "normalize".equals(arg.command().name())) {
      return null; // the stage's own: LayerNorm's 1e-5 or RMSNorm's 2^-52
    }
    return BY_OPTION.get(name);
  }

  /** 1e-5 as "1e-5", 64 as "64", 0.1 as "0.1": as a user would type it. */
  static String text(double value) {
    if (value == Math.rint(value) && Math.abs(value) < 1e15) {
      return Long.toString((long) value);
    }
    return Double.toString(value).replace("E", "e").replace(".0e", "e");
  }
}
