package io.normstats.jobs;

import io.normstats.InputException;
import io.normstats.io.IdxReader;
import io.normstats.onnx.BatchNormFolding;
import io.normstats.onnx.EvaluationResult;
import io.normstats.onnx.OnnxModel;
import io.normstats.onnx.RecalibrationDescription;
import io.normstats.onnx.RecalibrationResult;
import io.normstats.spark.FeatureSelection;
import io.normstats.spark.input.InputFormat;
import io.normstats.spark.input.Inputs;
import io.normstats.onnx.spark.ModelFiles;
import io.normstats.onnx.spark.NetworkEvaluation;
import io.normstats.onnx.spark.NetworkRecalibration;
import io.normstats.spark.OrderedInput;
import io.normstats.spark.input.ReadErrors;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Option;

/**
 * The options of a network recalibration, besides the model itself (a picocli mixin of the
 * recalibrate and report jobs), and the run they describe: the model and the evaluation input
 * checked before any pass ({@link #prepare}), then the recalibration and the evaluation
 * ({@link #run}).
 */
public final class NetworkOptions {
  private static final Logger LOG = LoggerFactory.getLogger(NetworkOptions.class);

  @Option(names = "--input-name", paramLabel = "NAME",
      description = "The model input the rows feed (default: the model's only input).")
  String inputName;

  @Option(names = "--batch-size", paramLabel = "B",
      description = "Rows per ONNX Runtime run (default: ${DEFAULT-VALUE}); the results do not "
          + "depend on it.")
  int batchSize;

  @Option(names = "--variance-mode", paramLabel = "MODE",
      description = "population (/n, what BatchNorm normalizes with; default) or sample "
          + "(/(n-1), as PyTorch's running_var): the variance written to the model.")
  String variance;

  @Option(names = "--precise-bn-batch-size", paramLabel = "M",
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

  /** A model and an evaluation input, read and checked. */
  record Prepared(String path, OnnxModel model, NetworkRecalibration.Settings settings,
      NetworkEvaluation.Prepared evaluation) {}

  /** A recalibration, its evaluation (or null) and what the JSON says about the run. */
  record Run(RecalibrationResult result, EvaluationResult evaluation,
      RecalibrationDescription description, BatchNormFolding.Folded folded) {}

  /** Whether any of these options was given a value other than its default. */
  boolean given() {
    return inputName != null || batchSize != 64 || !"population".equals(variance)
        || preciseBnBatchSize != 32 || evalInput != null || evalLabels != null || labelCol != null
        || evalOutput != null;
  }

  /**
   * The files the run reads besides the input, which an output directory must not replace.
   */
  List<String> files(String model) {
    List<String> files = new ArrayList<>(List.of(model));
    for (String p : new String[] {evalInput, evalLabels}) {
      if (p != null) {
        files.add(p);
      }
    }
    return files;
  }

  /**
   * @throws InputException (usage) for option values that cannot work together
   */
  /** The recalibrate job's controls (--layers, --prior-weight, --approximations); null in report. */
  RecalibrateControls controls;

  NetworkRecalibration.Settings settings() {
    FitJob.check("--variance-mode", variance, "population", "sample");
    if (controls != null) {
      controls.approximations();
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
    return controls == null ? settings : controls.apply(settings);
  }

  /** Set by a job whose input is images: the evaluation input is read as images too. */
  ImageOptions images;

  /**
   * Reads the model and checks it against the input's features, and reads and checks the
   * evaluation input and its labels, before any network pass. The evaluation input is read in the
   * input's format with the input's {@code --read-option}s.
   *
   * @throws InputException for a model that is missing, not ONNX, without BatchNormalization, of
   *     another input length or name; an evaluation input or labels that do not fit
   */
  Prepared prepare(SparkSession session, String path, FeatureSelection selection,
      InputFormat format, Map<String, String> readOptions) throws IOException {
    NetworkRecalibration.Settings settings = settings();
    Configuration conf = session.sparkContext().hadoopConfiguration();
    OnnxModel model = ModelFiles.read(conf, path, "model");
    if (controls != null && controls.fold && !model.external().isEmpty()) {
      throw InputException.usage("--fold: " + path + " is over 2 GB with its data, and normstats "
          + "folds models up to 2 GB; recalibrate without --fold");
    }
    settings.select(model);
    model.input(inputName).itemShape(selection.vectorLength());
    NetworkEvaluation.Prepared eval = null;
    if (evalInput != null) {
      NetworkEvaluation.output(model, evalOutput);
      eval = prepareEvaluation(session, conf, selection, format, readOptions);
    }
    LOG.info("{} BatchNorm layers in {} levels in {}", model.batchNorms().size(), model.levels(),
        path);
    return new Prepared(path, model, settings, eval);
  }

  /** Recalibrates the model on the input, and evaluates the four versions if asked to. */
  Run run(Prepared p, String input, OrderedInput rows, FeatureSelection selection,
      Integer partitions) {
    java.util.Set<NetworkRecalibration.Approximation> approximations = controls == null
        ? java.util.EnumSet.allOf(NetworkRecalibration.Approximation.class)
        : controls.approximations();
    RecalibrationResult result = NetworkRecalibration.withApproximations(rows, selection,
        partitions, p.model(), p.settings(), approximations);
    EvaluationResult evaluation = null;
    if (p.evaluation() != null) {
      long t = System.nanoTime();
      Map<String, OnnxModel> versions = new LinkedHashMap<>();
      versions.put("stored", p.model());
      versions.put("recalibrated", result.recalibrated());
      if (result.onePass() != null) {
        versions.put("one_pass", result.onePass());
      }
      if (result.preciseBn() != null) {
        versions.put("precise_bn", result.preciseBn());
      }
      evaluation = NetworkEvaluation.evaluate(p.evaluation(), versions, inputName, evalOutput,
          batchSize);
      LOG.info("evaluation on {} rows done in {} s", evaluation.rows(),
          String.format(Locale.ROOT, "%.1f", (System.nanoTime() - t) / 1e9));
    }
    RecalibrationDescription description = new RecalibrationDescription(
        p.path(), input, variance,
        preciseBnBatchSize, evalInput, evalLabels != null ? evalLabels
        : labelCol != null ? "column " + labelCol : null,
        NetworkEvaluation.output(p.model(), evalOutput),
        approximations.stream().map(NetworkRecalibration.Approximation::label).toList(),
        p.settings().layers(), p.settings().priorWeight(),
        p.settings().sample() == null ? null : p.settings().sample().seed());
    BatchNormFolding.Folded folded = null;
    if (controls != null && controls.fold) {
      folded = BatchNormFolding.fold(result.recalibrated(), result.layers().stream()
          .map(l -> l.layer().node()).toList());
      LOG.info("fold: {} of {} BatchNorm layers folded", result.layers().size()
          - folded.unfolded().size(), result.layers().size());
    }
    return new Run(result, evaluation, description, folded);
  }

  /** The evaluation input, its features as the input's, and its labels, checked. */
  private NetworkEvaluation.Prepared prepareEvaluation(SparkSession session, Configuration conf,
      FeatureSelection selection, InputFormat format, Map<String, String> readOptions)
      throws IOException {
    OrderedInput eval;
    FeatureSelection evalSelection;
    if (images != null) { // images laid out as the input's
      eval = io.normstats.spark.input.ImageInputs.ordered(session, evalInput, format, readOptions,
          images.imageCol, images.layout());
      evalSelection = FeatureSelection.resolve(eval.data(), null,
          io.normstats.spark.input.ImageInputs.COLUMN);
    } else {
      eval = Inputs.readOrdered(session, evalInput, format, readOptions);
      evalSelection = Inputs.select(session, evalInput, format, eval.data(),
          selection.kind() == FeatureSelection.Kind.SCALARS ? selection.columns() : null,
          selection.kind() == FeatureSelection.Kind.SCALARS ? null : selection.columns().get(0),
          false);
    }
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
    return ModelFiles.readFile(p.getFileSystem(conf), p, what + " " + path);
  }


  /**
   * The labels of an IDX label file (idx1, one value per item), as whole numbers.
   *
   * @throws InputException (usage) if it does not exist; (data) if it is not an IDX file of one
   *     value per item
   */
  static int[] readIdxLabels(Configuration conf, String path) throws IOException {
    byte[] bytes = readBytes(conf, path, "label file");
    try (IdxReader reader = IdxReader.open(new ByteArrayInputStream(bytes),
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
}
