package io.normstats.ml;

import io.normstats.Defaults;
import io.normstats.InputException;
import io.normstats.exact.ExactMoments;
import io.normstats.ml.param.HasInputCol;
import io.normstats.ml.param.HasOutputCol;
import io.normstats.ml.param.HasVarianceMode;
import io.normstats.ml.param.StageParams;
import io.normstats.onnx.LayerRecalibration;
import io.normstats.onnx.OnnxModel;
import io.normstats.onnx.RecalibrationResult;
import io.normstats.spark.FeatureSelection;
import io.normstats.onnx.spark.ModelFiles;
import io.normstats.onnx.spark.NetworkRecalibration;
import io.normstats.onnx.spark.NetworkTransform;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.ml.Estimator;
import org.apache.spark.ml.param.DoubleParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.param.ParamValidators;
import org.apache.spark.ml.param.StringArrayParam;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.DefaultParamsWritable;
import org.apache.spark.ml.util.Identifiable;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.StructType;

/**
 * Recalibrates the BatchNormalization layers of a trained ONNX network on a DataFrame, as a Spark
 * ML Estimator: {@link #fit} computes, bottom-up one level per pass, the exact mean and variance of
 * every layer's input over all rows with the layers below already recalibrated (the
 * {@code recalibrate} job's statistics, without its approximations), and returns a
 * {@link RecalibratedNetworkModel} holding the network with those statistics, which runs it.
 *
 * <p>Params: modelPath (the .onnx file, any Hadoop file system; read when fitting), varianceMode
 * ("population", the default: /n, what BatchNorm normalizes with; "sample": /(n-1), as PyTorch's
 * running_var), layers (globs of the layers to recompute, by node name or parameter prefix such as
 * {@code net.layer4.*}; empty, the default, for all; the others keep their stored statistics),
 * priorWeight (W in [0, 1], default 0: each recomputed layer gets W * stored + (1 - W) * exact,
 * bottom-up, as Schneider et al. 2020, arXiv:2006.16971), and the network params of
 * {@link NetworkParams} (inputCol, outputCol, batchSize, inputName, outputName). The same as the
 * recalibrate job's {@code --variance-mode}, {@code --layers} and {@code --prior-weight}.
 */
public final class BatchNormRecalibration extends Estimator<RecalibratedNetworkModel>
    implements HasInputCol<BatchNormRecalibration>, HasOutputCol<BatchNormRecalibration>,
        NetworkParams<BatchNormRecalibration>, HasVarianceMode<BatchNormRecalibration>,
        DefaultParamsWritable {
  private static final long serialVersionUID = 1L;

  private final String uid;
  private final StageParams params;
  private final Param<String> modelPath;
  private final StringArrayParam layers;
  private final DoubleParam priorWeight;

  /** A stage with the given uid. */
  public BatchNormRecalibration(String uid) {
    this.uid = uid;
    this.params = new StageParams(this);
    this.modelPath = new Param<>(this, "modelPath", "the ONNX model whose BatchNormalization "
        + "layers are recalibrated (read when fitting)");
    this.layers = new StringArrayParam(this, "layers", "globs of the BatchNormalization layers "
        + "to recompute (node names or parameter prefixes; * any characters, ? one); empty for "
        + "all");
    this.priorWeight = new DoubleParam(this, "priorWeight", "the weight W of the stored "
        + "statistics: W * stored + (1 - W) * exact, in [0, 1]",
        ParamValidators.inRange(0, 1));
    NetworkParams.initialize(this);
    setDefault(layers, new String[0]);
    setDefault(priorWeight, Defaults.PRIOR_WEIGHT);
  }

  /** A stage with a random uid. */
  public BatchNormRecalibration() {
    this(Identifiable.randomUID("batchNormRecalibration"));
  }

  @Override
  public String uid() {
    return uid;
  }

  @Override
  public StageParams stageParams() {
    return params;
  }

  /** modelPath: the .onnx file (any Hadoop file system), read when fitting. */
  public Param<String> modelPath() {
    return modelPath;
  }

  public String getModelPath() {
    return getOrDefault(modelPath);
  }

  public BatchNormRecalibration setModelPath(String value) {
    set(modelPath, value);
    return this;
  }

  public StringArrayParam layers() {
    return layers;
  }

  public DoubleParam priorWeight() {
    return priorWeight;
  }

  /** The globs of the layers recomputed; empty for all. */
  public String[] getLayers() {
    return getOrDefault(layers);
  }

  /** Only the layers these globs match are recomputed (node name or parameter prefix). */
  public BatchNormRecalibration setLayers(String... value) {
    set(layers, value);
    return this;
  }

  /** W in [0, 1]: the weight of the stored statistics. */
  public double getPriorWeight() {
    return (Double) getOrDefault(priorWeight);
  }

  /**
   * Mixes the stored statistics in: W * stored + (1 - W) * exact, bottom-up.
   *
   * @throws IllegalArgumentException if W is outside [0, 1]
   */
  public BatchNormRecalibration setPriorWeight(double value) {
    set(priorWeight, value);
    return this;
  }

  @Override
  public StructType transformSchema(StructType schema) {
    VectorColumns.field(schema, getInputCol());
    return NetworkTransform.schema(schema, getOutputCol());
  }

  /**
   * Recalibrates the network on {@code dataset}.
   *
   * @throws IllegalArgumentException if modelPath or inputCol is unset or unusable: the file is
   *     missing or has no BatchNormalization, a layer is in training mode, the vectors do not fit
   *     the network's input, the network is over 2 GB with its external data
   * @throws InputException (data) if the file is not an ONNX model, or for a null vector, a NaN
   *     value, vectors of different lengths, or no rows
   */
  @Override
  public RecalibratedNetworkModel fit(Dataset<?> dataset) {
    transformSchema(dataset.schema());
    if (!isDefined(modelPath)) {
      throw new IllegalArgumentException("modelPath is not set");
    }
    String path = getModelPath();
    Dataset<Row> df = dataset.toDF();
    RecalibrationResult result;
    try {
      OnnxModel model = read(df, path);
      if (!model.external().isEmpty()) { // the fitted model holds the network as one protobuf
        throw InputException.usage(path + " is over 2 GB with its data, more than the fitted "
            + "model holds; recalibrate it with the recalibrate job, which writes such models");
      }
      FeatureSelection selection = FeatureSelection.resolve(df, null, getInputCol());
      result = NetworkRecalibration.exact(df, selection, model,
          new NetworkRecalibration.Settings(getInputName(), getBatchSize(),
              "sample".equals(getVarianceMode()), 2, List.of(getLayers()),
              getPriorWeight(), null, NetworkRecalibration.ActivationCache.AUTO));
    } catch (InputException e) {
      if (InputException.find(e).exitCode() == InputException.USAGE) {
        throw new IllegalArgumentException(e.getMessage(), e);
      }
      throw e;
    }
    List<RecalibratedNetworkModel.Layer> layers = new ArrayList<>();
    for (LayerRecalibration l : result.layers()) {
      ExactMoments[] m = l.exact();
      double[] mean = new double[m.length];
      double[] varPop = new double[m.length];
      double[] varSamp = new double[m.length];
      for (int c = 0; c < m.length; c++) {
        mean[c] = m[c].mean();
        varPop[c] = m[c].varPop();
        varSamp[c] = m[c].varSamp();
      }
      layers.add(new RecalibratedNetworkModel.Layer(l.layer().node(), l.layer().input(),
          l.layer().level(), m[0].count(), mean, varPop, varSamp));
    }
    RecalibratedNetworkModel model = new RecalibratedNetworkModel(uid,
        result.recalibrated().toByteArray(), layers);
    copyValues(model, ParamMap.empty());
    return model.setParent(this);
  }

  /** The model at {@code path} with its external data; InputException (usage) if missing. */
  private static OnnxModel read(Dataset<Row> df, String path) {
    try {
      return ModelFiles.read(df.sparkSession().sparkContext().hadoopConfiguration(), path,
          "modelPath");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + path, e);
    }
  }


  @Override
  public BatchNormRecalibration copy(ParamMap extra) {
    return defaultCopy(extra);
  }

  /** The reader for saved stages (Pipeline persistence finds it by reflection). */
  public static MLReader<BatchNormRecalibration> read() {
    return new DefaultParamsReader<>();
  }

  /** Loads a stage saved with {@code write().save(path)}. */
  public static BatchNormRecalibration load(String path) {
    return read().load(path);
  }
}
