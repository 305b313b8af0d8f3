package io.normstats.jobs;

import io.normstats.InputException;
import io.normstats.ml.LayerNorm;
import io.normstats.ml.RMSNorm;
import io.normstats.output.OutputDirectory;
import io.normstats.spark.FeatureSelection;
import io.normstats.spark.input.Inputs;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.linalg.VectorUDT;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.StructField;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code normstats normalize}: the input's columns plus a normalized one, written as Parquet, JSON
 * lines (vectors as arrays of numbers) or CSV with a header (vectors as one column per element,
 * {@code name_0, name_1, ...}). The normalization is a model saved by the fit job (or any saved
 * PipelineModel), or LayerNorm, GroupNorm or RMSNorm.
 */
@Command(name = "normalize", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Normalizes the input with a saved model (fit job) or LayerNorm, GroupNorm or "
        + "RMSNorm, and writes the input's columns plus the normalized one."},
    exitCodeListHeading = "Exit codes:%n",
    exitCodeList = {"0:done", "1:bad data (NaN/null values, vectors of the wrong length)",
        "2:usage error (options, missing input or model, unknown column, existing output)"})
public final class NormalizeJob implements Callable<Integer> {
  @Mixin InputOptions in;

  static final class Method {
    @Option(names = "--model", paramLabel = "MODEL_DIR",
        description = "A PipelineModel saved by the fit job.")
    String model;

    @Option(names = "--layer-norm", description = "LayerNorm over each row's vector.")
    boolean layerNorm;

    @Option(names = "--group-norm", paramLabel = "G",
        description = "GroupNorm with G groups of consecutive elements.")
    Integer groupNorm;

    @Option(names = "--rms-norm", description = "RMSNorm of each row's vector.")
    boolean rmsNorm;
  }

  @ArgGroup(exclusive = true, multiplicity = "1")
  Method method;

  @Option(names = "--epsilon", paramLabel = "EPS",
      description = "Epsilon of --layer-norm/--group-norm (default 1e-5) or --rms-norm "
          + "(default: float64 machine epsilon, as PyTorch).")
  Double epsilon;

  @Option(names = "--output-col", defaultValue = "normalized", paramLabel = "COL",
      description = "The normalized column (default: ${DEFAULT-VALUE}).")
  String outputCol;

  @Option(names = "--output-format", defaultValue = "parquet", paramLabel = "FORMAT",
      description = "parquet, json or csv (default: ${DEFAULT-VALUE}).")
  String outputFormat;

  @Option(names = "--vector-type", paramLabel = "TYPE",
      description = "How Parquet and JSON outputs hold vector columns: vector (Spark ML's Vector, "
          + "which Spark ML stages read back; the Parquet default), array (array<double>, which "
          + "pandas, pyarrow and PyTorch data loaders read as plain lists; the JSON default) or "
          + "float-array (array<float>, float32 as PyTorch tensors, half the size).")
  String vectorType;

  @Option(names = "--handle-invalid", paramLabel = "MODE",
      description = "error|skip|keep for --layer-norm/--group-norm/--rms-norm: fail on a NaN or "
          + "null, drop the row, or output NaN/null (default: ${DEFAULT-VALUE}; a model keeps "
          + "its own).")
  String invalid;

  @Mixin SparkOptions spark;

  @Override
  public Integer call() throws Exception {
    FitJob.check("--output-format", outputFormat, "parquet", "json", "csv");
    FitJob.check("--handle-invalid", invalid, "error", "skip", "keep");
    if (vectorType != null) {
      FitJob.check("--vector-type", vectorType, "vector", "array", "float-array");
      if (outputFormat.equals("csv")) {
        throw InputException.usage("--vector-type applies to parquet and json outputs; csv "
            + "writes one column per vector element");
      }
    } else {
      vectorType = outputFormat.equals("parquet") ? "vector" : "array";
    }
    if (epsilon != null && !(epsilon >= 0)) {
      throw InputException.usage("--epsilon must be >= 0: " + epsilon);
    }
    if (method.groupNorm != null && method.groupNorm < 1) {
      throw InputException.usage("--group-norm must be at least 1: " + method.groupNorm);
    }
    SparkSession session = spark.session("normalize", in);
    OutputDirectory out = OutputDirectory.prepare(session.sparkContext().hadoopConfiguration(),
        in.output, in.overwrite, in.input);
    boolean committed = false;
    try {
      Dataset<Row> df = Inputs.read(session, in.input, in.format, in.readOptions);
      if (Arrays.asList(df.columns()).contains(outputCol)) {
        throw InputException.usage("the input already has a column '" + outputCol
            + "': choose another --output-col");
      }
      Transformer transformer = transformer(session, df);
      Dataset<Row> result;
      try {
        result = transformer.transform(df);
      } catch (IllegalArgumentException e) {
        throw InputException.usage(e.getMessage());
      }
      List<Column> keep = new ArrayList<>();
      for (String c : df.columns()) {
        keep.add(functions.col("`" + c.replace("`", "``") + "`"));
      }
      keep.add(functions.col(outputCol));
      write(result.select(keep.toArray(new Column[0])), out);
      out.commit("normalize");
      committed = true;
    } finally {
      if (!committed) {
        out.abort();
      }
    }
    System.out.println("normalize: wrote " + out.target().toUri().getPath() + " (" + outputFormat
        + ")");
    return 0;
  }

  /** The model's pipeline, or a pipeline of the chosen per-row normalization. */
  private Transformer transformer(SparkSession session, Dataset<Row> df) {
    if (method.model != null) {
      PipelineModel model = SavedModel.load(session.sparkContext().hadoopConfiguration(),
          method.model);
      SavedModel.checkColumns(model, method.model, Arrays.asList(df.columns()));
      // the model's last stage writes "normalized"; rename it to --output-col
      Transformer last = model.stages()[model.stages().length - 1];
      last.set(last.getParam("outputCol"), outputCol);
      if (!"error".equals(invalid)) {
        last.set(last.getParam("handleInvalid"), invalid);
      }
      return model;
    }
    FeatureSelection selection = Inputs.select(session, in.input, in.format, df, in.features,
        in.vectorCol, false);
    ModelInput input = ModelInput.of(df, selection);
    PipelineStage stage;
    if (method.rmsNorm) {
      RMSNorm rms = new RMSNorm().setInputCol(input.column()).setOutputCol(outputCol)
          .setHandleInvalid(invalid);
      stage = epsilon == null ? rms : rms.setEpsilon(epsilon);
    } else {
      LayerNorm ln = new LayerNorm().setInputCol(input.column()).setOutputCol(outputCol)
          .setHandleInvalid(invalid).setNumGroups(method.groupNorm == null ? 1 : method.groupNorm);
      stage = epsilon == null ? ln : ln.setEpsilon(epsilon);
    }
    return new Pipeline().setStages(input.stages(stage)).fit(df);
  }

  /** Writes {@code df} into the staging directory in the output format. */
  private void write(Dataset<Row> df, OutputDirectory out) {
    String path = out.staging().toString();
    switch (outputFormat) {
      case "parquet" -> vectorsAs(df, vectorType).write().mode(SaveMode.Overwrite).parquet(path);
      case "json" -> vectorsAs(df, vectorType).write().mode(SaveMode.Overwrite).json(path);
      default -> {
        Dataset<Row> arrays = vectorsAs(df, "array");
        List<Column> columns = new ArrayList<>();
        for (StructField f : arrays.schema().fields()) {
          Column c = functions.col("`" + f.name().replace("`", "``") + "`");
          if (f.dataType() instanceof ArrayType) {
            int length = arrays.select(functions.max(functions.size(c))).first().getInt(0);
            for (int k = 0; k < length; k++) { // shorter rows (LayerNorm of ragged vectors): empty
              columns.add(functions.get(c, functions.lit(k)).as(f.name() + "_" + k));
            }
          } else {
            columns.add(c);
          }
        }
        arrays.select(columns.toArray(new Column[0])).write().mode(SaveMode.Overwrite)
            .option("header", "true").csv(path);
      }
    }
  }

  /**
   * {@code df} with every Vector column as {@code type} says: unchanged ("vector"), as
   * array&lt;double&gt; ("array") or array&lt;float&gt; ("float-array", each value rounded to the
   * nearest float).
   */
  private static Dataset<Row> vectorsAs(Dataset<Row> df, String type) {
    if (type.equals("vector")) {
      return df;
    }
    String dtype = type.equals("array") ? "float64" : "float32";
    List<Column> columns = new ArrayList<>();
    for (StructField f : df.schema().fields()) {
      Column c = functions.col("`" + f.name().replace("`", "``") + "`");
      columns.add(f.dataType() instanceof VectorUDT
          ? org.apache.spark.ml.functions.vector_to_array(c, dtype).as(f.name()) : c);
    }
    return df.select(columns.toArray(new Column[0]));
  }
}
