package io.normstats.ml;

import io.normstats.InputException;
import io.normstats.exact.FeatureMoments;
import io.normstats.ml.param.HasInputCol;
import io.normstats.ml.param.HasOutputCol;
import io.normstats.ml.param.HasEpsilon;
import io.normstats.ml.param.HasVarianceMode;
import io.normstats.ml.param.HasNumChannels;
import io.normstats.ml.param.HasWeight;
import io.normstats.ml.param.HasBias;
import io.normstats.ml.param.HasHandleInvalid;
import io.normstats.ml.param.HasOutputType;
import io.normstats.ml.param.StageParams;
import io.normstats.result.DatasetStatistics;
import io.normstats.result.FeatureStatistics;
import io.normstats.spark.ExactStatistics;
import io.normstats.spark.FeatureSelection;
import java.util.List;
import org.apache.spark.ml.Estimator;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.DefaultParamsWritable;
import org.apache.spark.ml.util.Identifiable;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.StructType;

/**
 * BatchNorm as a Spark ML Estimator: {@link #fit} computes the exact dataset mean and variance of
 * every feature (or channel) with the engine of the stats job, each correctly rounded from the exact
 * rational value and bit-for-bit the same for any partitioning, and returns a
 * {@link BatchNormModel} that normalizes in prediction mode.
 *
 * <p>Params (Spark ML conventions): inputCol (a Vector, dense or sparse, array&lt;double&gt; or
 * array&lt;float&gt; column), outputCol (default {@code uid + "__output"}), epsilon (default 1e-5, as
 * PyTorch), varianceMode ("population", the default: /n, what BatchNorm normalizes with;
 * "sample": /(n-1), as Spark's StandardScaler), numChannels C (unset: one statistic per vector
 * element, BatchNorm1d; set: a vector of length C*H*W in channel-major order gets one statistic
 * per channel over all its N*H*W values, BatchNorm2d), weight and bias (gamma and beta, one per
 * feature or channel; default ones and zeros), handleInvalid ("error", the default: a null vector
 * or a NaN/infinite element fails naming the column; "skip": such rows are left out of the fit and
 * dropped by the model; "keep": invalid values are left out of the statistics and passed through
 * by the model as NaN/null), outputType ("vector" or "array").
 */
public final class BatchNorm extends Estimator<BatchNormModel>
    implements HasInputCol<BatchNorm>, HasOutputCol<BatchNorm>, HasEpsilon<BatchNorm>,
        HasVarianceMode<BatchNorm>, HasNumChannels<BatchNorm>, HasWeight<BatchNorm>,
        HasBias<BatchNorm>, HasHandleInvalid<BatchNorm>, HasOutputType<BatchNorm>,
        DefaultParamsWritable {
  private static final long serialVersionUID = 1L;

  private final String uid;
  private final StageParams params;

  /** A BatchNorm with the given uid. */
  public BatchNorm(String uid) {
    this.uid = uid;
    this.params = new StageParams(this);
    StageParams.initialize(this);
  }

  /** A BatchNorm with a random uid. */
  public BatchNorm() {
    this(Identifiable.randomUID("batchNorm"));
  }

  @Override
  public String uid() {
    return uid;
  }

  @Override
  public StageParams stageParams() {
    return params;
  }

  @Override
  public StructType transformSchema(StructType schema) {
    return VectorColumns.transformSchema(schema, getInputCol(), getOutputCol(),
        getOutputType(), 0);
  }

  /**
   * Computes the exact statistics of inputCol and returns the model.
   *
   * @throws IllegalArgumentException if inputCol is missing or not a vector column, numChannels
   *     does not divide the vector length, or weight/bias have the wrong length
   * @throws InputException (data) under handleInvalid "error" for a null vector or a NaN or
   *     infinite element, for vectors of different lengths, when a feature has no value (or one
   *     value with varianceMode "sample"), or when a variance is beyond the double range (values
   *     near +-1e308), with which every value would normalize to beta
   */
  @Override
  public BatchNormModel fit(Dataset<?> dataset) {
    transformSchema(dataset.schema());
    String column = getInputCol();
    String invalid = getHandleInvalid();
    Dataset<Row> df = dataset.toDF();
    if ("skip".equals(invalid)) {
      df = VectorColumns.dropInvalid(df, column);
    }
    FeatureSelection selection;
    try {
      selection = FeatureSelection.resolveDeferred(df, null, column);
      if (isDefined(numChannels())) {
        selection = selection.withChannels(getNumChannels());
      }
    } catch (InputException e) {
      throw new IllegalArgumentException(e.getMessage(), e);
    }
    if (selection.lengthKnown()) {
      checkAffineLengths(selection.size());
    }
    DatasetStatistics result;
    try {
      result = ExactStatistics.compute(df, selection);
    } catch (Exception e) { // Spark's checked SparkException included
      InputException cause = InputException.find(e);
      if (cause != null && cause.exitCode() == InputException.USAGE) {
        // Channels that do not divide a length read from the data: a parameter error.
        throw new IllegalArgumentException(cause.getMessage(), e);
      }
      throw BatchNorm.<RuntimeException>rethrow(e);
    }
    int size = result.features().size();
    checkAffineLengths(size);
    boolean sample = "sample".equals(getVarianceMode());
    double[] mean = new double[size];
    double[] variance = new double[size];
    for (FeatureStatistics f : result.features()) {
      FeatureMoments m = f.moments();
      if ("error".equals(invalid) && m.invalidCount() > 0) {
        throw InputException.data("column '" + column + "' has " + m.nanCount()
            + " NaN or infinite and " + m.nullCount() + " null values in " + f.name()
            + " (handleInvalid=error; set it to skip or keep)");
      }
      mean[f.index()] = m.mean();
      variance[f.index()] = sample ? m.varSamp() : m.varPop();
      if (Double.isNaN(mean[f.index()]) || Double.isNaN(variance[f.index()])) {
        throw InputException.data("column '" + column + "': " + f.name() + " has " + m.count()
            + " valid values, too few for its " + (sample ? "sample " : "") + "variance");
      }
      if (Double.isInfinite(variance[f.index()])) {
        throw InputException.data("column '" + column + "': " + f.name() + " has a variance "
            + "beyond the double range (values from " + m.min() + " to " + m.max() + "), with "
            + "which every value would normalize to beta; scale it first");
      }
    }
    BatchNormModel model = new BatchNormModel(uid, Vectors.dense(mean), Vectors.dense(variance));
    copyValues(model, ParamMap.empty());
    return model.setParent(this);
  }

  @SuppressWarnings("unchecked")
  private static <E extends Exception> E rethrow(Exception e) throws E {
    throw (E) e;
  }

  /** @throws IllegalArgumentException if weight or bias is set with a length other than size */
  private void checkAffineLengths(int size) {
    for (Param<Vector> p : List.of(weight(), bias())) {
      if (isDefined(p) && getOrDefault(p).size() != size) {
        throw new IllegalArgumentException(p.name() + " has length " + getOrDefault(p).size()
            + ", expected " + size + (isDefined(numChannels()) ? " (one per channel)"
            : " (one per feature)"));
      }
    }
  }

  @Override
  public BatchNorm copy(ParamMap extra) {
    return defaultCopy(extra);
  }

  /** The reader for saved BatchNorms (Pipeline persistence finds it by reflection). */
  public static MLReader<BatchNorm> read() {
    return new DefaultParamsReader<>();
  }

  /** Loads a BatchNorm saved with {@code write().save(path)}. */
  public static BatchNorm load(String path) {
    return read().load(path);
  }
}
