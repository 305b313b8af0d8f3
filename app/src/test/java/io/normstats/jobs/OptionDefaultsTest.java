package io.normstats.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.normstats.Defaults;
import io.normstats.ml.BatchNorm;
import io.normstats.ml.BatchNormRecalibration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

/**
 * The options that name a shared setting take their defaults from {@link Defaults}, the same as
 * the Spark ML stages' params of the same name (kebab case on the command line).
 */
class OptionDefaultsTest {

  /** Each job's command line with only its required options, parsed: the options' values. */
  private static CommandLine parsed(String job, String... required) {
    CommandLine cli = Main.commandLine();
    String[] args = new String[required.length + 1];
    args[0] = job;
    System.arraycopy(required, 0, args, 1, required.length);
    cli.parseArgs(args);
    return cli.getSubcommands().get(job);
  }

  private static Object value(CommandLine job, String option) {
    OptionSpec o = job.getCommandSpec().findOption(option);
    assertTrue(o != null, job.getCommandName() + " has " + option);
    return o.getValue();
  }

  @Test
  void sharedOptionsDefaultToTheStagesDefaults() {
    CommandLine fit = parsed("fit", "--input", "in", "--output", "out");
    BatchNorm bn = new BatchNorm();
    assertEquals(bn.getEpsilon(), value(fit, "--epsilon"));
    assertEquals(bn.getVarianceMode(), value(fit, "--variance-mode"));
    assertEquals(bn.getHandleInvalid(), value(fit, "--handle-invalid"));
    assertNull(value(fit, "--num-channels"));

    CommandLine recalibrate = parsed("recalibrate", "--model", "m.onnx", "--input", "in",
        "--output", "out");
    BatchNormRecalibration r = new BatchNormRecalibration();
    assertEquals(r.getBatchSize(), value(recalibrate, "--batch-size"));
    assertEquals(r.getVarianceMode(), value(recalibrate, "--variance-mode"));
    assertEquals(r.getPriorWeight(), value(recalibrate, "--prior-weight"));
    assertEquals(Defaults.PRECISE_BN_BATCH_SIZE, value(recalibrate, "--precise-bn-batch-size"));

    CommandLine compare = parsed("compare", "--input", "in", "--output", "out");
    assertEquals(0.1, value(compare, "--momentum")); // PyTorch's BatchNorm momentum
    assertEquals(0.99, value(compare, "--keras-momentum")); // Keras' BatchNormalization momentum
    assertEquals(1e-5, value(compare, "--epsilon")); // PyTorch's BatchNorm eps

    CommandLine stats = parsed("stats", "--input", "in", "--output", "out");
    assertEquals("error", value(stats, "--handle-invalid").toString().toLowerCase(Locale.ROOT));
    // normalize's epsilon has no default of its own: LayerNorm's or RMSNorm's applies
    CommandLine normalize = parsed("normalize", "--input", "in", "--output", "out",
        "--layer-norm");
    assertNull(value(normalize, "--epsilon"));
    assertEquals("error", value(normalize, "--handle-invalid"));
  }

  @Test
  void theHelpShowsTheDefaultsAsAUserTypesThem() {
    for (Map.Entry<Double, String> e : Map.of(1e-5, "1e-5", 64.0, "64", 0.1, "0.1", 0.0, "0",
        Math.ulp(1.0), "2.220446049250313e-16").entrySet()) {
      assertEquals(e.getValue(), OptionDefaults.text(e.getKey()));
      assertEquals(e.getKey(), Double.parseDouble(e.getValue()));
    }
    String help = Main.commandLine().getSubcommands().get("fit").getUsageMessage()
        .replaceAll("\\s+", " ");
    for (String line : List.of("(default: 1e-5)", "(default: error)")) {
      assertTrue(help.contains(line), help);
    }
  }

  @Test
  void aRenamedOptionSaysItsNewName() {
    java.io.StringWriter err = new java.io.StringWriter();
    int code = Main.run(new java.io.PrintWriter(err, true), "stats", "--input", "in", "--output",
        "out", "--invalid", "skip");
    assertEquals(2, code);
    assertTrue(err.toString().contains("--invalid is now --handle-invalid"), err.toString());
    assertEquals(1, err.toString().strip().lines().count(), err.toString());
  }
}
