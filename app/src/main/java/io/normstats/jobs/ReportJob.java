package io.normstats.jobs;

import io.normstats.InputException;
import io.normstats.minibatch.CompareSettings;
import io.normstats.minibatch.Comparison;
import io.normstats.minibatch.Estimator;
import io.normstats.minibatch.LinearHistogram;
import io.normstats.output.OutputDirectory;
import io.normstats.output.ReportOutput;
import io.normstats.report.Findings;
import io.normstats.report.ReportData;
import io.normstats.result.DatasetStatistics;
import io.normstats.result.FeatureStatistics;
import io.normstats.result.ImageSize;
import io.normstats.result.PixelStatistics;
import io.normstats.spark.ExactStatistics;
import io.normstats.io.ImageTransform;
import io.normstats.spark.FeatureSelection;
import io.normstats.spark.input.ImageInputs;
import io.normstats.spark.ImageStatistics;
import io.normstats.spark.input.IdxSource;
import io.normstats.spark.input.InputFormat;
import io.normstats.spark.input.Inputs;
import io.normstats.spark.MinibatchComparison;
import io.normstats.spark.OrderedInput;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code normstats report}: the stats and compare jobs in one Spark application, sharing passes (the
 * exact pass, one shuffle, and a pass over the same shuffled rows for the distribution of batch
 * means), written as DIR/report.html (one self-contained page with charts), DIR/report.json and
 * DIR/features.csv (see {@link ReportOutput}). With {@code --model}, also the recalibrate job's
 * passes over the same input, reported as a section on the network's BatchNorm layers.
 */
@Command(name = "report", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"The exact statistics and how far minibatch and moving-average estimates are "
        + "from them, as an offline report: DIR/report.html (open it in a browser), "
        + "DIR/report.json and DIR/features.csv."},
    exitCodeListHeading = "Exit codes:%n",
    exitCodeList = {"0:done", "1:bad data (NaN, infinite or null values, vectors of different "
        + "lengths, unreadable file)", "2:usage error (options, batch size outside [2, rows], "
        + "missing input, unknown or non-numeric column, existing output)"})
public final class ReportJob implements Callable<Integer> {
  private static final Logger LOG = LoggerFactory.getLogger(ReportJob.class);
  /** Bins of the batch-mean histogram. */
  static final int BINS = 60;

  @Mixin InputOptions in;

  @Mixin ImageOptions image;

  @Mixin CompareOptions options;

  @Option(names = "--image-shape", split = ",", paramLabel = "C,H,W",
      description = "Draw the mean and standard deviation as C images of H x W (channel-major "
          + "vectors); IDX images are drawn without it.")
  int[] imageShape;

  @Option(names = "--model", paramLabel = "MODEL.onnx",
      description = "Also recalibrate this ONNX model's BatchNorm layers on the input and report "
          + "their stored, exact and approximate statistics (and, with --eval-input, accuracy).")
  String model;

  @Mixin NetworkOptions network;

  @Mixin SparkOptions spark;

  @Override
  public Integer call() throws Exception {
    CompareSettings settings = options.settings();
    if (imageShape != null && (imageShape.length != 3 || Arrays.stream(imageShape).anyMatch(x -> x < 1))) {
      throw InputException.usage("--image-shape needs three positive numbers C,H,W: "
          + Arrays.toString(imageShape));
    }
    if (model == null && network.given()) {
      throw InputException.usage("the network options (--eval-input, --input-name, ...) need "
          + "--model");
    }
    if (model != null) {
      network.settings();
    }
    SparkSession session = spark.session("report", in);
    List<String> inputs = new ArrayList<>(List.of(in.input));
    if (model != null) {
      inputs.addAll(network.files(model));
    }
    OutputDirectory out = OutputDirectory.prepare(session.sparkContext().hadoopConfiguration(),
        in.output, in.overwrite, inputs.toArray(new String[0]));
    Map<String, Double> phases = new LinkedHashMap<>();
    boolean committed = false;
    try {
      long t = System.nanoTime();
      OrderedInput input;
      FeatureSelection selection;
      int[] shape;
      PixelStatistics pixelStatistics = null;
      if (image.images(in, session)) {
        if (in.features != null || in.vectorCol != null || imageShape != null) {
          throw InputException.usage("--features, --vector-col and --image-shape do not apply "
              + "to images (--color, --resize and --center-crop lay them out)");
        }
        ImageTransform transform = image.transform();
        // the per-channel statistics of the pixel values (the stats job's, after the same
        // resize and crop) and their histograms: one pass over the images, which also says
        // whether they have one size
        Dataset<Row> source = image.imageCol == null
            ? Inputs.readImages(session, in.input, in.readOptions)
            : Inputs.read(session, in.input, in.format, in.readOptions);
        pixelStatistics = ImageStatistics.compute(source,
            image.imageCol == null ? "content" : image.imageCol,
            image.imageCol == null ? "path" : null, in.input,
            new ImageStatistics.Options(image.color, ImageStatistics.PixelValues.UNIT, false,
                transform));
        ImageSize size = pixelStatistics.smallest();
        if (!size.equals(pixelStatistics.largest())) {
          throw InputException.usage("a report on images needs them of one size, these go from "
              + size.height() + "x" + size.width() + " to " + pixelStatistics.largest().height()
              + "x" + pixelStatistics.largest().width() + ": pass --center-crop H[,W] (after "
              + "--resize S to keep more of each image)");
        }
        network.images = image;
        input = ImageInputs.ordered(session, in.input, in.format, in.readOptions, image.imageCol,
            image.layout());
        selection = FeatureSelection.resolve(input.data(), null, ImageInputs.COLUMN);
        shape = new int[] {pixelStatistics.statistics().features().size(), size.height(),
            size.width()};
        t = phase(phases, "pixel statistics", t);
      } else {
        input = Inputs.readOrdered(session, in.input, in.format, in.readOptions);
        selection = Inputs.select(session, in.input, in.format, input.data(), in.features,
            in.vectorCol, false);
        shape = imageShape(session, selection);
      }
      NetworkOptions.Prepared prepared = model == null ? null
          : network.prepare(session, model, selection, in.format, in.readOptions);
      int partitions = Inputs.partitions(input.withOrigin());
      LOG.info("report: exact statistics of {} features of {} in {} partitions", selection.size(),
          in.input, partitions);
      ExactStatistics.Ordered exact;
      ReportData.BatchMeanDistribution distribution;
      Comparison.Result result;
      try (ExactStatistics.OrderedRows kept =
          ExactStatistics.computeOrderedKeepingRows(input, selection)) {
        exact = kept.ordered();
        CompareJob.checkForMinibatches(exact, in.input, settings);
        t = phase(phases, "exact statistics", t);

        MinibatchComparison run = MinibatchComparison.start(kept, selection, settings);
        try {
          result = run.result();
          t = phase(phases, "minibatch estimators", t);
          distribution = distribution(run, result, exact.result(), settings);
          t = phase(phases, "batch-mean distribution", t);
        } finally {
          run.close();
        }
      }
      ReportData.Network recalibration = null;
      if (prepared != null) {
        NetworkOptions.Run recalibrated = network.run(prepared, in.input, input, selection, null);
        recalibration = new ReportData.Network(recalibrated.description(), recalibrated.result(),
            recalibrated.evaluation());
        t = phase(phases, "network recalibration", t);
      }
      ReportData data = new ReportData(in.input, partitions, session.version(),
          session.sparkContext().master(), phases, exact.result(), settings, result, distribution,
          shape, recalibration, pixelStatistics);
      ReportOutput.write(data, out);
      phase(phases, "report", t);
      out.commit("report");
      committed = true;
    } finally {
      if (!committed) {
        out.abort();
      }
    }
    String dir = out.target().toUri().getPath();
    System.out.println("report: " + dir + "/report.html");
    return 0;
  }

  /** Records the wall time of a phase since {@code since}, logs it, and returns now. */
  private static long phase(Map<String, Double> phases, String name, long since) {
    long now = System.nanoTime();
    double seconds = (now - since) / 1e9;
    phases.put(name, seconds);
    LOG.info("report: {} done in {} s", name, String.format(java.util.Locale.ROOT, "%.1f",
        seconds));
    return now;
  }

  /** {C, H, W} from --image-shape, or from an IDX file's item dimensions, or null. */
  private int[] imageShape(SparkSession session, FeatureSelection selection) {
    int[] shape = imageShape;
    if (shape == null && selection.kind() != FeatureSelection.Kind.SCALARS
        && (in.format == InputFormat.IDX || (in.format == InputFormat.AUTO
            && Inputs.resolveFormat(session, in.input) == InputFormat.IDX))) {
      int[] dims = IdxSource.itemDimensions(session, in.input);
      if (dims.length == 2) {
        shape = new int[] {1, dims[0], dims[1]};
      }
    }
    if (shape != null && (long) shape[0] * shape[1] * shape[2] != selection.size()) {
      throw InputException.usage("--image-shape " + shape[0] + "," + shape[1] + "," + shape[2]
          + " does not hold the " + selection.size() + " features");
    }
    return shape;
  }

  /**
   * The batch means of the feature where single minibatches err most at the smallest batch size,
   * binned over the exact mean +- 4.5 root-mean-square errors (within the feature's range).
   */
  private static ReportData.BatchMeanDistribution distribution(MinibatchComparison run,
      Comparison.Result result, DatasetStatistics exact, CompareSettings settings) {
    int[] sizes = settings.batchSizes();
    int index = 0;
    for (int i = 1; i < sizes.length; i++) {
      if (sizes[i] < sizes[index]) {
        index = i;
      }
    }
    int m = sizes[index];
    int j = Findings.worstBatchMeanFeature(result, m);
    if (j < 0) {
      return null;
    }
    FeatureStatistics f = exact.features().get(j);
    double mu = f.moments().mean();
    double rms = Findings.result(result, m, Estimator.BATCH).features().get(j).meanAbsErr();
    double low = Math.max(f.moments().min(), mu - 4.5 * rms);
    double high = Math.min(f.moments().max(), mu + 4.5 * rms);
    if (!(low < high)) {
      return null;
    }
    high = Math.nextUp(high);
    LinearHistogram h = run.batchMeans(index, j, low, high, BINS);
    return new ReportData.BatchMeanDistribution(j, f.name(), m, mu, h);
  }
}
