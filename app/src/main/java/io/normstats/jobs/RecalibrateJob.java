package io.normstats.jobs;

import io.normstats.InputException;
import io.normstats.minibatch.EstimateErrors;
import io.normstats.onnx.EvaluationResult;
import io.normstats.onnx.LayerRecalibration;
import io.normstats.onnx.RecalibrationResult;
import io.normstats.output.OutputDirectory;
import io.normstats.output.RecalibrateOutput;
import io.normstats.spark.FeatureSelection;
import io.normstats.spark.input.ImageInputs;
import io.normstats.spark.input.Inputs;
import io.normstats.onnx.spark.NetworkRecalibration;
import io.normstats.spark.OrderedInput;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code normstats recalibrate}: exact prediction-mode statistics for every BatchNormalization of
 * an ONNX model, bottom-up one level per pass ({@link NetworkRecalibration}), with the one_pass and
 * precise_bn approximations beside them and, with {@code --eval-input}, the accuracy of each; written
 * as DIR/model.onnx (with DIR/model.onnx.data for a model over 2 GB), DIR/bn_stats.safetensors
 * and DIR/recalibrate.json ({@link RecalibrateOutput}).
 */
@Command(name = "recalibrate", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Recomputes the statistics of every BatchNormalization layer of an ONNX model "
        + "exactly over the input (bottom-up: each layer with the layers below already "
        + "recalibrated), next to the one_pass and precise_bn approximations.",
        "Writes DIR/model.onnx (the model with the new statistics), DIR/bn_stats.safetensors "
            + "(running_mean and running_var per layer) and DIR/recalibrate.json."},
    exitCodeListHeading = "Exit codes:%n",
    exitCodeList = {"0:done", "1:bad data (not an ONNX model, incomplete rows, a label count "
        + "that differs from the rows)", "2:usage error (options, missing input, a model "
        + "without BatchNormalization or in training mode, an input length or input name that "
        + "does not fit the model, existing output)"})
public final class RecalibrateJob implements Callable<Integer> {
  private static final Logger LOG = LoggerFactory.getLogger(RecalibrateJob.class);

  @Option(names = "--model", required = true, paramLabel = "MODEL.onnx",
      description = "The ONNX model, with its BatchNormalization nodes (not folded).")
  String model;

  @Mixin InputOptions in;

  @Mixin ImageOptions image;

  @Option(names = "--partitions", paramLabel = "N",
      description = "Repartition the rows of the exact passes into N partitions first (default: "
          + "as the input lays them out, spread over the cores when they lie unevenly); "
          + "the results do not depend on it.")
  Integer partitions;

  @Mixin NetworkOptions network;

  @Mixin RecalibrateControls controls;

  @Mixin SparkOptions spark;

  @Override
  public Integer call() throws Exception {
    if (partitions != null && partitions < 1) {
      throw InputException.usage("--partitions must be at least 1: " + partitions);
    }
    network.controls = controls;
    network.settings();
    SparkSession session = spark.session("recalibrate", in);
    long start = System.nanoTime();
    List<String> inputs = new ArrayList<>(List.of(in.input));
    inputs.addAll(network.files(model));
    OutputDirectory out = OutputDirectory.prepare(session.sparkContext().hadoopConfiguration(),
        in.output, in.overwrite, inputs.toArray(new String[0]));
    boolean committed = false;
    NetworkOptions.Run run;
    try {
      OrderedInput input;
      FeatureSelection selection;
      if (image.images(in, session)) {
        if (in.features != null || in.vectorCol != null) {
          throw InputException.usage("--features and --vector-col do not apply to images");
        }
        network.images = image;
        input = ImageInputs.ordered(session, in.input, in.format, in.readOptions, image.imageCol,
            image.layout());
        selection = FeatureSelection.resolve(input.data(), null, ImageInputs.COLUMN);
      } else {
        input = Inputs.readOrdered(session, in.input, in.format, in.readOptions);
        selection = Inputs.select(session, in.input, in.format, input.data(), in.features,
            in.vectorCol, false);
      }
      NetworkOptions.Prepared prepared;
      try {
        prepared = network.prepare(session, model, selection, in.format, in.readOptions);
      } catch (InputException e) {
        if (network.images == null || e.exitCode() != InputException.USAGE
            || !e.getMessage().contains("values per row")) {
          throw e;
        }
        throw InputException.usage(e.getMessage() + "; for images, --color (rgb: 3 channels, "
            + "gray: 1), --resize and --center-crop choose C, H and W");
      }
      run = network.run(prepared, in.input, input, selection, partitions);
      RecalibrateOutput.write(run.description(), run.result(), run.evaluation(), run.folded(),
          out);
      out.commit("recalibrate");
      committed = true;
    } finally {
      if (!committed) {
        out.abort();
      }
    }
    String dir = out.target().toUri().getPath();
    LOG.info("recalibrate: done in {} s", String.format(Locale.ROOT, "%.1f",
        (System.nanoTime() - start) / 1e9));
    RecalibrationResult result = run.result();
    System.out.println("recalibrate: " + result.rows() + " rows"
        + (result.inputRows() != result.rows() ? " (sampled from " + result.inputRows() + ")"
        : "") + ", " + result.layers().size()
        + " BatchNorm layers in " + result.levels() + " levels (" + result.passes()
        + " passes" + (result.preciseBn() != null ? ", and one for precise_bn" : "")
        + "); wrote " + dir + "/model.onnx, " + (result.recalibrated().external().isEmpty() ? ""
        : dir + "/model.onnx.data (its tensors over 2 GB), ") + dir
        + "/bn_stats.safetensors and " + dir + "/recalibrate.json");
    System.out.println(summary(result, "sample".equals(network.variance)));
    if (run.evaluation() != null) {
      System.out.println(summary(run.evaluation()));
    }
    return 0;
  }

  /** Per layer, the median over channels of the variance's relative error of each estimate. */
  static String summary(RecalibrationResult r, boolean sample) {
    StringBuilder b = new StringBuilder("median over channels of |var - exact| / exact:\n");
    List<String> estimates = new ArrayList<>(List.of("stored"));
    if (r.onePass() != null) {
      estimates.add("one_pass");
    }
    if (r.preciseBn() != null) {
      estimates.add("precise_bn");
    }
    b.append(String.format(Locale.ROOT, "%-28s %5s", "layer", "level"));
    estimates.forEach(e -> b.append(String.format(Locale.ROOT, " %10s", e)));
    b.append('\n');
    for (LayerRecalibration l : r.layers()) {
      Map<String, EstimateErrors> errors = l.errors(sample);
      b.append(String.format(Locale.ROOT, "%-28s %5d", l.layer().node(), l.layer().level()));
      estimates.forEach(e -> b.append(String.format(Locale.ROOT, " %10.3g",
          errors.get(e).varRelErr().median())));
      b.append('\n');
    }
    return b.toString().stripTrailing();
  }

  static String summary(EvaluationResult e) {
    StringBuilder b = new StringBuilder("evaluation on " + e.rows() + " rows: ");
    for (int v = 0; v < e.versions().size(); v++) {
      b.append(v == 0 ? "" : ", ").append(e.versions().get(v)).append(' ');
      if (e.correct() != null) {
        b.append(String.format(Locale.ROOT, "%.2f%%", 100 * e.accuracy(v)));
        if (v > 0) {
          b.append(String.format(Locale.ROOT, " (%.2f%% changed)", 100 * e.changedFraction(v)));
        }
      } else if (v > 0) {
        b.append(String.format(Locale.ROOT, "%.2f%% changed", 100 * e.changedFraction(v)));
      } else {
        b.append("(reference)");
      }
    }
    return b.toString();
  }
}
