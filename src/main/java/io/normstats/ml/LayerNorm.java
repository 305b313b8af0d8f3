package io.normstats.ml;

import io.normstats.norm.LayerNormalization;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.param.DoubleParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.param.ParamValidators;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.DefaultParamsWritable;
import org.apache.spark.ml.util.Identifiable;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.StructType;

/**
 * LayerNorm, and GroupNorm with {@link #setNumGroups}, as a Spark ML Transformer: each row's vector
 * is normalized with its own mean and biased variance, {@code y = gamma * (x - mean) /
 * sqrt(var + epsilon) + beta}, as PyTorch's {@code LayerNorm} (over the whole vector) and
 * {@code GroupNorm} (per group of consecutive channels) compute it. See {@link LayerNormalization}
 * for the layout and the numerics.
 *
 * <p>Input: a Vector (dense or sparse), array&lt;double&gt; or array&lt;float&gt; column of any
 * length, unless weight/bias or numChannels fix it. Output: a dense Vector, or the input's array
 * type with {@code outputType = "array"}. Params: inputCol, outputCol (default
 * {@code uid + "__output"}), epsilon (1e-5, PyTorch's), numGroups G (1), numChannels C (default: the
 * vector length; G must divide C and C the length), weight and bias (length C), handleInvalid
 * ("error", "skip" or "keep"), outputType. Saved and loaded with ML persistence
 * ({@link #write()}, {@link #load}).
 */
public final class LayerNorm extends Transformer implements DefaultParamsWritable {
  private static final long serialVersionUID = 1L;

  private final String uid;
  private final Param<String> inputCol;
  private final Param<String> outputCol;
  private final DoubleParam epsilon;
  private final IntParam numGroups;
  private final IntParam numChannels;
  private final Param<Vector> weight;
  private final Param<Vector> bias;
  private final Param<String> handleInvalid;
  private final Param<String> outputType;

  /** A LayerNorm with the given uid. */
  public LayerNorm(String uid) {
    this.uid = uid;
    inputCol = StageParams.inputCol(this);
    outputCol = StageParams.outputCol(this);
    epsilon = StageParams.epsilon(this, "added to each group's variance (default 1e-5, as PyTorch)");
    numGroups = new IntParam(this, "numGroups", "groups of consecutive channels normalized "
        + "separately: 1 for LayerNorm, G for GroupNorm", ParamValidators.gtEq(1));
    numChannels = StageParams.numChannels(this, "channels C of the channel-major vector (default: "
        + "its length, every element a channel); weight and bias have C values");
    weight = StageParams.weight(this, "one per channel");
    bias = StageParams.bias(this, "one per channel");
    handleInvalid = StageParams.handleInvalid(this, "a null vector or a NaN/infinite element: "
        + "'error' fails, 'skip' drops the row, 'keep' outputs null or NaN");
    outputType = StageParams.outputType(this);
    setDefault(outputCol, uid + "__output");
    setDefault(epsilon, (Object) 1e-5);
    setDefault(numGroups, (Object) 1);
    setDefault(handleInvalid, "error");
    setDefault(outputType, "vector");
  }

  /** A LayerNorm with a random uid. */
  public LayerNorm() {
    this(Identifiable.randomUID("layerNorm"));
  }

  @Override
  public String uid() {
    return uid;
  }

  public Param<String> inputCol() {
    return inputCol;
  }

  public Param<String> outputCol() {
    return outputCol;
  }

  public DoubleParam epsilon() {
    return epsilon;
  }

  public IntParam numGroups() {
    return numGroups;
  }

  public IntParam numChannels() {
    return numChannels;
  }

  public Param<Vector> weight() {
    return weight;
  }

  public Param<Vector> bias() {
    return bias;
  }

  public Param<String> handleInvalid() {
    return handleInvalid;
  }

  public Param<String> outputType() {
    return outputType;
  }

  public LayerNorm setInputCol(String value) {
    set(inputCol, value);
    return this;
  }

  public LayerNorm setOutputCol(String value) {
    set(outputCol, value);
    return this;
  }

  public LayerNorm setEpsilon(double value) {
    set(epsilon, (Object) value);
    return this;
  }

  /** Sets the number of groups: GroupNorm with G groups of consecutive channels. */
  public LayerNorm setNumGroups(int value) {
    set(numGroups, (Object) value);
    return this;
  }

  public LayerNorm setNumChannels(int value) {
    set(numChannels, (Object) value);
    return this;
  }

  public LayerNorm setWeight(Vector value) {
    set(weight, value);
    return this;
  }

  public LayerNorm setBias(Vector value) {
    set(bias, value);
    return this;
  }

  public LayerNorm setHandleInvalid(String value) {
    set(handleInvalid, value);
    return this;
  }

  public LayerNorm setOutputType(String value) {
    set(outputType, value);
    return this;
  }

  /**
   * The vector length the params imply: without numChannels every element is a channel, so a weight
   * or bias fixes the length; otherwise 0 (any length that C divides).
   */
  private int fixedLength() {
    if (isDefined(numChannels)) {
      return 0;
    }
    if (isDefined(weight)) {
      return getOrDefault(weight).size();
    }
    return isDefined(bias) ? getOrDefault(bias).size() : 0;
  }

  @Override
  public StructType transformSchema(StructType schema) {
    return VectorColumns.transformSchema(schema, getOrDefault(inputCol), getOrDefault(outputCol),
        getOrDefault(outputType), fixedLength());
  }

  @Override
  public Dataset<Row> transform(Dataset<?> dataset) {
    int groups = (Integer) getOrDefault(numGroups);
    Integer channels = isDefined(numChannels) ? (Integer) getOrDefault(numChannels) : null;
    double eps = (Double) getOrDefault(epsilon);
    double[] gamma = isDefined(weight) ? StageParams.array(getOrDefault(weight)) : null;
    double[] beta = isDefined(bias) ? StageParams.array(getOrDefault(bias)) : null;
    return VectorColumns.transform(dataset, getOrDefault(inputCol), getOrDefault(outputCol),
        getOrDefault(outputType), getOrDefault(handleInvalid), fixedLength(),
        length -> new LayerNormalization(length, groups, channels == null ? length : channels,
            eps, gamma, beta));
  }

  @Override
  public LayerNorm copy(ParamMap extra) {
    return defaultCopy(extra);
  }

  /** The reader for saved LayerNorms (Pipeline persistence finds it by reflection). */
  public static MLReader<LayerNorm> read() {
    return new DefaultParamsReader<>();
  }

  /** Loads a LayerNorm saved with {@code write().save(path)}. */
  public static LayerNorm load(String path) {
    return read().load(path);
  }
}
