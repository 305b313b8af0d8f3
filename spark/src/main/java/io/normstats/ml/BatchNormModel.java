package io.normstats.ml;

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
import io.normstats.norm.BatchNormalization;
import java.io.IOException;
import java.util.List;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.ml.Model;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.DefaultParamsWriter;
import org.apache.spark.ml.util.Identifiable;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.ml.util.MLWritable;
import org.apache.spark.ml.util.MLWriter;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.StructType;

/**
 * BatchNorm in prediction mode with fixed statistics: {@code y = gamma * (x - mean) /
 * sqrt(variance + epsilon) + beta} per element, as PyTorch's {@code BatchNorm1d/2d} in
 * {@code eval()} (see {@link BatchNormalization}). Fitted by {@link BatchNorm}, or built from given
 * statistics with {@link #BatchNormModel(Vector, Vector)} (an estimate from the compare job, a
 * framework's running statistics).
 *
 * <p>Shapes: {@link #mean()} and {@link #variance()} have one value per channel C. Without
 * numChannels every element is a channel and input vectors must have length C; with numChannels =
 * C, vectors of any length C*S (channel-major, S = H*W) are normalized per channel. Input: a
 * Vector, array&lt;double&gt; or array&lt;float&gt; column; output a dense Vector, or the input's
 * array type with {@code outputType = "array"}. A vector of another length fails the job naming the
 * column and both lengths; a null or NaN/infinite value is handled as handleInvalid says. A
 * channel with zero variance and epsilon 0 outputs beta.
 *
 * <p>Persistence: {@link #write()} saves the params as JSON metadata and the statistics as a
 * one-row Parquet table under {@code path/data} (columns mean, variance: Vectors), as Spark's
 * StandardScalerModel does; {@link #load} reads them back, also inside a saved PipelineModel.
 */
public final class BatchNormModel extends Model<BatchNormModel>
    implements HasInputCol<BatchNormModel>, HasOutputCol<BatchNormModel>,
        HasEpsilon<BatchNormModel>, HasVarianceMode<BatchNormModel>, HasNumChannels<BatchNormModel>,
        HasWeight<BatchNormModel>, HasBias<BatchNormModel>, HasHandleInvalid<BatchNormModel>,
        HasOutputType<BatchNormModel>, MLWritable {
  private static final long serialVersionUID = 1L;

  static final StructType DATA_SCHEMA = new StructType()
      .add("mean", SQLDataTypes.VectorType(), false)
      .add("variance", SQLDataTypes.VectorType(), false);

  private final String uid;
  private final Vector mean;
  private final Vector variance;
  private final StageParams params;

  /**
   * A model with the given uid and statistics.
   *
   * @param mean the mean per channel (C values)
   * @param variance the variance per channel (C values, at least 0)
   * @throws IllegalArgumentException if the lengths differ or a variance is negative or NaN
   */
  public BatchNormModel(String uid, Vector mean, Vector variance) {
    this.uid = uid;
    if (mean.size() != variance.size() || mean.size() == 0) {
      throw new IllegalArgumentException("mean and variance must have the same, non-zero length: "
          + mean.size() + " and " + variance.size());
    }
    for (int c = 0; c < variance.size(); c++) {
      if (!(variance.apply(c) >= 0) || !Double.isFinite(mean.apply(c))) {
        throw new IllegalArgumentException("channel " + c + " has mean " + mean.apply(c)
            + " and variance " + variance.apply(c));
      }
    }
    this.mean = mean.copy();
    this.variance = variance.copy();
    this.params = new StageParams(this);
    StageParams.initialize(this);
  }

  /** A model with a random uid from given statistics (one value per channel each). */
  public BatchNormModel(Vector mean, Vector variance) {
    this(Identifiable.randomUID("batchNormModel"), mean, variance);
  }

  /**
   * A model without statistics, which cannot transform: the constructor Spark Connect's
   * ServiceLoader registry of Transformers needs (models come from {@link BatchNorm#fit}, the
   * statistics constructors or {@link #load}).
   */
  public BatchNormModel(String uid) {
    this.uid = uid;
    this.mean = Vectors.dense(new double[0]);
    this.variance = this.mean;
    this.params = new StageParams(this);
    StageParams.initialize(this);
  }

  /** A model without statistics, for ServiceLoader (see {@link #BatchNormModel(String)}). */
  public BatchNormModel() {
    this(Identifiable.randomUID("batchNormModel"));
  }

  @Override
  public String uid() {
    return uid;
  }

  /** The mean per channel (a copy; empty for a model without statistics). */
  public Vector mean() {
    return mean.copy();
  }

  /** The variance per channel (a copy; empty for a model without statistics). */
  public Vector variance() {
    return variance.copy();
  }

  @Override
  public StageParams stageParams() {
    return params;
  }

  /**
   * Sets the channels: must equal the number of statistics.
   *
   * @throws IllegalArgumentException if {@code value} differs from the model's channels
   */
  @Override
  public BatchNormModel setNumChannels(int value) {
    if (mean.size() > 0 && value != mean.size()) {
      throw new IllegalArgumentException("numChannels " + value + " differs from the model's "
          + mean.size() + " channels");
    }
    set(numChannels(), (Object) value);
    return this;
  }

  /**
   * Sets gamma, one value per channel.
   *
   * @throws IllegalArgumentException if its length differs from the model's channels
   */
  @Override
  public BatchNormModel setWeight(Vector value) {
    checkLength(value, "weight");
    set(weight(), value);
    return this;
  }

  /**
   * Sets beta, one value per channel.
   *
   * @throws IllegalArgumentException if its length differs from the model's channels
   */
  @Override
  public BatchNormModel setBias(Vector value) {
    checkLength(value, "bias");
    set(bias(), value);
    return this;
  }

  private void checkLength(Vector v, String what) {
    if (mean.size() > 0 && v.size() != mean.size()) {
      throw new IllegalArgumentException(what + " has length " + v.size() + ", expected "
          + mean.size() + " (one per channel)");
    }
  }

  /** @throws IllegalStateException for a model without statistics */
  private void requireStatistics() {
    if (mean.size() == 0) {
      throw new IllegalStateException("BatchNormModel " + uid + " has no statistics: fit a "
          + "BatchNorm, construct it with mean and variance, or load a saved one");
    }
  }

  /** The vector length inputs must have: C, or 0 (any multiple of C) with numChannels. */
  private int fixedLength() {
    return isDefined(numChannels()) ? 0 : mean.size();
  }

  @Override
  public StructType transformSchema(StructType schema) {
    requireStatistics();
    return VectorColumns.transformSchema(schema, getInputCol(), getOutputCol(), getOutputType(),
        fixedLength());
  }

  /**
   * Adds the normalized column.
   *
   * @throws IllegalArgumentException (from transformSchema) if the input column is missing or of
   *     another type, or its metadata gives another vector length
   * @throws IllegalStateException for a model without statistics
   */
  @Override
  public Dataset<Row> transform(Dataset<?> dataset) {
    requireStatistics();
    double[] m = mean.toArray();
    double[] v = variance.toArray();
    double eps = getEpsilon();
    double[] gamma = VectorColumns.array(getWeight());
    double[] beta = VectorColumns.array(getBias());
    return VectorColumns.transform(dataset, getInputCol(), getOutputCol(), getOutputType(),
        getHandleInvalid(), fixedLength(),
        length -> new BatchNormalization(length, m, v, eps, gamma, beta));
  }

  @Override
  public BatchNormModel copy(ParamMap extra) {
    BatchNormModel copy = copyValues(mean.size() == 0 ? new BatchNormModel(uid)
        : new BatchNormModel(uid, mean, variance), extra);
    return copy.setParent(parent());
  }

  @Override
  public MLWriter write() {
    requireStatistics();
    return new Writer(this);
  }

  /** The reader for saved models (Pipeline persistence finds it by reflection). */
  public static MLReader<BatchNormModel> read() {
    return new Reader();
  }

  /** Loads a model saved with {@code write().save(path)}. */
  public static BatchNormModel load(String path) {
    return read().load(path);
  }

  private static final class Writer extends MLWriter {
    private final BatchNormModel model;

    Writer(BatchNormModel model) {
      this.model = model;
    }

    @Override
    public void saveImpl(String path) {
      DefaultParamsWriter.saveMetadata(model, path, sparkSession());
      sparkSession().createDataFrame(List.of(RowFactory.create(model.mean, model.variance)),
          DATA_SCHEMA).repartition(1).write().parquet(new Path(path, "data").toString());
    }
  }

  private static final class Reader extends MLReader<BatchNormModel> {
    @Override
    public BatchNormModel load(String path) {
      checkSavedStage(sparkSession(), path);
      DefaultParamsReader.Metadata metadata = DefaultParamsReader.loadMetadata(path, sparkSession(),
          BatchNormModel.class.getName());
      Row row = sparkSession().read().parquet(new Path(path, "data").toString())
          .select("mean", "variance").first();
      BatchNormModel model;
      try {
        model = new BatchNormModel(metadata.uid(), (Vector) row.get(0), (Vector) row.get(1));
      } catch (IllegalArgumentException | NullPointerException e) {
        throw new IllegalArgumentException(path + " does not hold valid BatchNorm statistics: "
            + e.getMessage(), e);
      }
      metadata.getAndSetParams(model, scala.Option.empty());
      return model;
    }
  }

  /**
   * @throws IllegalArgumentException if {@code path} holds no saved Spark ML stage
   */
  static void checkSavedStage(org.apache.spark.sql.SparkSession spark, String path) {
    try {
      Path metadata = new Path(path, "metadata");
      FileSystem fs = metadata.getFileSystem(spark.sparkContext().hadoopConfiguration());
      if (!fs.exists(metadata)) {
        throw new IllegalArgumentException(path + " is not a saved Spark ML stage (it has no "
            + "metadata directory)");
      }
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read " + path + ": " + e.getMessage(), e);
    }
  }
}
