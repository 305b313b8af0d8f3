package io.normstats.jobs;

import io.normstats.InputException;
import io.normstats.io.IdxReader;
import io.normstats.minibatch.EstimateErrors;
import io.normstats.onnx.OnnxModel;
import io.normstats.output.OutputDirectory;
import io.normstats.output.RecalibrateOutput;
import io.normstats.spark.FeatureSelection;
import io.normstats.spark.Inputs;
import io.normstats.spark.NetworkEvaluation;
import io.normstats.spark.NetworkRecalibration;
import io.normstats.spark.OrderedInput;
import io.normstats.spark.ReadErrors;
import java.io.IOException;
import java.io.InputStream;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
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
 * as DIR/model.onnx, DIR/bn_stats.safetensors and DIR/recalibrate.json ({@link RecalibrateOutput}).
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

  @Option(names = "--input-name", paramLabel = "NAME",
      description = "The model input the rows feed (default: the model's only input).")
  String inputName;

  @Option(names = "--batch-size", defaultValue = "64", paramLabel = "B",
      description = "Rows per ONNX Runtime run (default: ${DEFAULT-VALUE}); the results do not "
          + "depend on it.")
  int batchSize;

  @Option(names = "--partitions", paramLabel = "N",
      description = "Repartition the rows of the exact passes into N partitions first; the "
          + "results do not depend on it.")
  Integer partitions;

  @Option(names = "--variance", defaultValue = "population", paramLabel = "MODE",
      description = "population (/n, what BatchNorm normalizes with; default) or sample "
          + "(/(n-1), as PyTorch's running_var): the variance written to the model.")
  String variance;

  @Option(names = "--precise-bn-batch-size", defaultValue = "32", paramLabel = "M",
      description = "Minibatch size of the precise_bn approximation (default: "
          + "${DEFAULT-VALUE}).")
  int preciseBnBatchSize;

  @Option(names = "--eval-input", paramLabel = "PATH",
      description = "Rows to compare the models' predictions on (same format and features).")
  String evalInput;

  @Option(names = "--eval-labels", paramLabel = "IDX_LABELS",
      description = "An IDX label file: item i labels row i of --eval-input.")
  String evalLabels;

  @Option(names = "--label-col", paramLabel = "COL",
      description = "The label column of --eval-input.")
  String labelCol;

  @Option(names = "--eval-output", paramLabel = "NAME",
      description = "The output whose argmax is the prediction (default: the first output).")
  String evalOutput;

  @Mixin SparkOptions spark;

  @Override
  public Integer call() throws Exception {
    FitJob.check("--variance", variance, "population", "sample");
    if (partitions != null && partitions < 1) {
      throw InputException.usage("--partitions must be at least 1: " + partitions);
    }
    if (evalInput == null && (evalLabels != null || labelCol != null || evalOutput != null)) {
      throw InputException.usage("--eval-labels, --label-col and --eval-output need "
          + "--eval-input");
    }
    if (evalLabels != null && labelCol != null) {
      throw InputException.usage("give either --eval-labels or --label-col, not both");
    }
    NetworkRecalibration.Settings settings = new NetworkRecalibration.Settings(inputName,
        batchSize, "sample".equals(variance), preciseBnBatchSize);
    SparkSession session = spark.session("recalibrate");
    Configuration conf = session.sparkContext().hadoopConfiguration();
    long start = System.nanoTime();
    List<String> inputs = new java.util.ArrayList<>(List.of(in.input, model));
    for (String p : new String[] {evalInput, evalLabels}) {
      if (p != null) {
        inputs.add(p);
      }
    }
    OutputDirectory out = OutputDirectory.prepare(conf, in.output, in.overwrite,
        inputs.toArray(new String[0]));
    boolean committed = false;
    NetworkRecalibration.Result result;
    NetworkEvaluation.Result evaluation = null;
    try {
      OnnxModel network = OnnxModel.parse(readBytes(conf, model, "model"), model);
      network.requireBatchNorms();
      network.input(inputName);
      OrderedInput input = Inputs.readOrdered(session, in.input, in.format);
      FeatureSelection selection = Inputs.select(session, in.input, in.format, input.data(),
          in.features, in.vectorCol, false);
      LOG.info("recalibrate: {} BatchNorm layers in {} levels of {} on {} ({} features)",
          network.batchNorms().size(), network.levels(), model, in.input, selection.size());
      NetworkEvaluation.Prepared eval = null;
      if (evalInput != null) {
        NetworkEvaluation.output(network, evalOutput);
        eval = prepareEvaluation(session, conf, selection);
      }
      result = NetworkRecalibration.withApproximations(input, selection, partitions, network,
          settings);
      if (eval != null) {
        long t = System.nanoTime();
        Map<String, OnnxModel> versions = new LinkedHashMap<>();
        versions.put("stored", network);
        versions.put("recalibrated", result.recalibrated());
        versions.put("one_pass", result.onePass());
        versions.put("precise_bn", result.preciseBn());
        evaluation = NetworkEvaluation.evaluate(eval, versions, inputName, evalOutput, batchSize);
        LOG.info("recalibrate: evaluation on {} rows done in {} s", evaluation.rows(),
            String.format(Locale.ROOT, "%.1f", (System.nanoTime() - t) / 1e9));
      }
      RecalibrateOutput.write(new RecalibrateOutput.Run(model, in.input, variance,
          preciseBnBatchSize, evalInput, evalLabels != null ? evalLabels
          : labelCol != null ? "column " + labelCol : null, evalOutput == null
          ? network.outputs().get(0) : evalOutput), result, evaluation, out);
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
    System.out.println("recalibrate: " + result.rows() + " rows, " + result.layers().size()
        + " BatchNorm layers in " + result.levels() + " levels (" + result.passes()
        + " passes, and one for precise_bn); wrote " + dir + "/model.onnx, " + dir
        + "/bn_stats.safetensors and " + dir + "/recalibrate.json");
    System.out.println(summary(result, "sample".equals(variance)));
    if (evaluation != null) {
      System.out.println(summary(evaluation));
    }
    return 0;
  }

  /** The evaluation input, its features as the input's, and its labels, checked. */
  private NetworkEvaluation.Prepared prepareEvaluation(SparkSession session, Configuration conf,
      FeatureSelection selection) throws IOException {
    OrderedInput eval = Inputs.readOrdered(session, evalInput, in.format);
    FeatureSelection evalSelection = Inputs.select(session, evalInput, in.format, eval.data(),
        selection.kind() == FeatureSelection.Kind.SCALARS ? selection.columns() : null,
        selection.kind() == FeatureSelection.Kind.SCALARS ? null : selection.columns().get(0),
        false);
    if (evalSelection.vectorLength() != selection.vectorLength()) {
      throw InputException.usage("the evaluation input's rows have " + evalSelection.vectorLength()
          + " values, the input's " + selection.vectorLength());
    }
    NetworkEvaluation.Labels labels = null;
    if (evalLabels != null) {
      labels = new NetworkEvaluation.Labels(readIdxLabels(conf, evalLabels), null, evalLabels);
    } else if (labelCol != null) {
      if (!List.of(eval.data().columns()).contains(labelCol)) {
        throw InputException.usage("unknown label column '" + labelCol + "' (columns: "
            + String.join(", ", eval.data().columns()) + ")");
      }
      labels = new NetworkEvaluation.Labels(null, labelCol, "column " + labelCol);
    }
    return NetworkEvaluation.prepare(eval, evalSelection, labels);
  }

  /**
   * The whole file at {@code path} (through Hadoop's FileSystem: local, hdfs:, s3a:).
   *
   * @throws InputException (usage) if it does not exist or is a directory
   */
  static byte[] readBytes(Configuration conf, String path, String what) throws IOException {
    Path p = new Path(path);
    FileSystem fs = p.getFileSystem(conf);
    if (!fs.exists(p)) {
      throw InputException.usage(what + " " + path + " does not exist");
    }
    if (fs.getFileStatus(p).isDirectory()) {
      throw InputException.usage(what + " " + path + " is a directory, not a file");
    }
    try (InputStream s = fs.open(p)) {
      return s.readAllBytes();
    }
  }

  /**
   * The labels of an IDX label file (idx1, one value per item), as whole numbers.
   *
   * @throws InputException (usage) if it does not exist; (data) if it is not an IDX file of one
   *     value per item
   */
  static int[] readIdxLabels(Configuration conf, String path) throws IOException {
    byte[] bytes = readBytes(conf, path, "label file");
    try (IdxReader reader = IdxReader.open(new java.io.ByteArrayInputStream(bytes),
        ReadErrors.displayPath(path))) {
      if (reader.itemLength() != 1) {
        throw InputException.data("label file " + path + " holds items of "
            + reader.itemLength() + " values, not one label per item");
      }
      int[] labels = new int[(int) reader.items()];
      double[] one = new double[1];
      for (int i = 0; i < labels.length; i++) {
        reader.readItem(one);
        labels[i] = (int) one[0];
      }
      return labels;
    } catch (IOException e) {
      throw InputException.data(e.getMessage(), e);
    }
  }

  /** Per layer, the median over channels of the variance's relative error of each estimate. */
  static String summary(NetworkRecalibration.Result r, boolean sample) {
    StringBuilder b = new StringBuilder("median over channels of |var - exact| / exact:\n");
    b.append(String.format(Locale.ROOT, "%-28s %5s %10s %10s %10s%n", "layer", "level", "stored",
        "one_pass", "precise_bn"));
    for (NetworkRecalibration.Layer l : r.layers()) {
      Map<String, EstimateErrors> errors = RecalibrateOutput.errors(l, sample);
      b.append(String.format(Locale.ROOT, "%-28s %5d %10.3g %10.3g %10.3g%n", l.layer().node(),
          l.layer().level(), errors.get("stored").varRelErr().median(),
          errors.get("one_pass").varRelErr().median(),
          errors.get("precise_bn").varRelErr().median()));
    }
    return b.toString().stripTrailing();
  }

  static String summary(NetworkEvaluation.Result e) {
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
