package io.normstats.jobs;

import io.normstats.InputException;
import io.normstats.ml.BatchNorm;
import io.normstats.ml.BatchNormModel;
import io.normstats.ml.BatchNormSafetensors;
import io.normstats.output.OutputDirectory;
import io.normstats.spark.FeatureSelection;
import io.normstats.spark.input.Inputs;
import java.io.IOException;
import java.io.OutputStream;
import java.util.UUID;
import java.util.concurrent.Callable;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code normstats fit}: fits {@link BatchNorm} (exact statistics) on the input and saves it as a
 * Spark ML PipelineModel in MODEL_DIR (a VectorAssembler first when the features are scalar
 * columns), loadable with {@code PipelineModel.load} and by the normalize job; optionally also as a
 * PyTorch BatchNorm state dict in safetensors.
 */
@Command(name = "fit", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Fits BatchNorm with the exact dataset statistics and saves it as a Spark ML "
        + "PipelineModel (and optionally as a PyTorch BatchNorm state dict in safetensors)."},
    exitCodeListHeading = "Exit codes:%n",
    exitCodeList = {"0:done", "1:bad data (NaN/null values, vectors of different lengths)",
        "2:usage error (options, missing input, unknown column, existing output)"})
public final class FitJob implements Callable<Integer> {
  @Mixin InputOptions in;

  @Option(names = "--epsilon", paramLabel = "EPS",
      description = "Added to the variance when normalizing (default: ${DEFAULT-VALUE}).")
  double epsilon;

  @Option(names = "--num-channels", paramLabel = "C",
      description = "One statistic per channel of C channel-major channels (BatchNorm2d).")
  Integer channels;

  @Option(names = "--variance-mode", paramLabel = "MODE",
      description = "population (/n, default) or sample (/(n-1)).")
  String variance;

  @Option(names = "--handle-invalid", paramLabel = "MODE",
      description = "error|skip|keep: fail on a NaN/null, leave such rows out, or leave such "
          + "values out (default: ${DEFAULT-VALUE}).")
  String invalid;

  @Option(names = "--safetensors", paramLabel = "FILE",
      description = "Also write the statistics as a PyTorch BatchNorm state dict.")
  String safetensors;

  @Option(names = "--safetensors-dtype", defaultValue = "F32", paramLabel = "DTYPE",
      description = "F32 (PyTorch's default) or F64 (default: ${DEFAULT-VALUE}).")
  String dtype;

  @Mixin SparkOptions spark;

  @Override
  public Integer call() throws Exception {
    check("--variance-mode", variance, "population", "sample");
    check("--handle-invalid", invalid, "error", "skip", "keep");
    check("--safetensors-dtype", dtype, "F32", "F64");
    if (!(epsilon >= 0)) {
      throw InputException.usage("--epsilon must be >= 0: " + epsilon);
    }
    SparkSession session = spark.session("fit", in);
    OutputDirectory out = OutputDirectory.prepare(session.sparkContext().hadoopConfiguration(),
        in.output, in.overwrite, in.input);
    Path tensors = safetensors == null ? null : new Path(safetensors);
    FileSystem tensorFs = tensors == null ? null
        : tensors.getFileSystem(session.sparkContext().hadoopConfiguration());
    if (tensors != null && tensorFs.exists(tensors) && !in.overwrite) {
      out.abort();
      throw InputException.usage("safetensors file " + safetensors
          + " already exists (pass --overwrite to replace it)");
    }
    boolean committed = false;
    BatchNormModel bn;
    try {
      Dataset<Row> df = Inputs.read(session, in.input, in.format, in.readOptions);
      FeatureSelection selection = Inputs.select(session, in.input, in.format, df, in.features,
          in.vectorCol, false);
      ModelInput input = ModelInput.of(df, selection);
      BatchNorm estimator = new BatchNorm().setInputCol(input.column()).setOutputCol("normalized")
          .setEpsilon(epsilon).setVarianceMode(variance).setHandleInvalid(invalid);
      if (channels != null) {
        estimator.setNumChannels(channels); // BatchNorm.fit checks that C divides the length
      }
      PipelineModel model;
      try {
        model = new Pipeline().setStages(input.stages(estimator)).fit(df);
      } catch (IllegalArgumentException e) {
        throw InputException.usage(e.getMessage());
      } catch (InputException e) {
        if (e.exitCode() == InputException.DATA && df.isEmpty()) {
          throw InputException.data("input " + in.input + " has no rows");
        }
        throw e;
      }
      bn = (BatchNormModel) model.stages()[model.stages().length - 1];
      model.write().overwrite().save(out.staging().toString());
      if (tensors != null) {
        writeSafetensors(bn, tensorFs, tensors);
      }
      out.commit("fit");
      committed = true;
    } finally {
      if (!committed) {
        out.abort();
      }
    }
    String dir = out.target().toUri().getPath();
    System.out.println("fit: " + bn.mean().size() + (channels != null ? " channel(s)" : " feature(s)")
        + "; wrote the PipelineModel " + dir
        + (tensors != null ? " and " + tensorFs.makeQualified(tensors).toUri().getPath() : ""));
    return 0;
  }

  /** Writes the state dict beside the target first and renames it into place. */
  private void writeSafetensors(BatchNormModel bn, FileSystem fs, Path target) throws IOException {
    Path tmp = new Path(target.getParent(), "." + target.getName() + ".normstats-" + UUID.randomUUID());
    try {
      try (OutputStream stream = fs.create(tmp, false)) {
        BatchNormSafetensors.write(bn, stream, dtype, "");
      }
      if (fs.exists(target)) {
        fs.delete(target, false);
      }
      if (!fs.rename(tmp, target)) {
        throw new IOException("cannot move the safetensors file into " + target);
      }
    } finally {
      fs.delete(tmp, false);
    }
  }

  static void check(String option, String value, String... allowed) {
    for (String a : allowed) {
      if (a.equals(value)) {
        return;
      }
    }
    throw InputException.usage(option + " must be one of " + String.join(", ", allowed) + ": "
        + value);
  }
}
