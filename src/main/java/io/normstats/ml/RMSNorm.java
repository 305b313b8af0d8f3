package io.normstats.ml;

import io.normstats.norm.RmsNormalization;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.param.DoubleParam;
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
 * RMSNorm (Zhang and Sennrich 2019, arXiv:1910.07467) as a Spark ML Transformer:
 * {@code y = gamma * x / sqrt(mean(x^2) + epsilon)} per row, as PyTorch's {@code RMSNorm} computes
 * it (see {@link RmsNormalization}).
 *
 * <p>Input: a Vector, array&lt;double&gt; or array&lt;float&gt; column of any length (a weight fixes
 * it). Output: a dense Vector, or the input's array type with {@code outputType = "array"}. Params:
 * inputCol, outputCol (default {@code uid + "__output"}), epsilon (default
 * {@link RmsNormalization#DEFAULT_EPSILON}, PyTorch's {@code finfo(float64).eps}), weight
 * (elementwise), handleInvalid ("error", "skip", "keep"), outputType.
 */
public final class RMSNorm extends Transformer implements DefaultParamsWritable {
  private static final long serialVersionUID = 1L;

  private final String uid;
  private final Param<String> inputCol;
  private final Param<String> outputCol;
  private final DoubleParam epsilon;
  private final Param<Vector> weight;
  private final Param<String> handleInvalid;
  private final Param<String> outputType;

  /** An RMSNorm with the given uid. */
  public RMSNorm(String uid) {
    this.uid = uid;
    inputCol = StageParams.inputCol(this);
    outputCol = StageParams.outputCol(this);
    epsilon = StageParams.epsilon(this, "added to the mean square (default: PyTorch's "
        + "finfo(float64).eps)");
    weight = StageParams.weight(this, "one per element");
    handleInvalid = StageParams.handleInvalid(this, "a null vector or a NaN/infinite element: "
        + "'error' fails, 'skip' drops the row, 'keep' outputs null or NaN");
    outputType = StageParams.outputType(this);
    setDefault(outputCol, uid + "__output");
    setDefault(epsilon, (Object) RmsNormalization.DEFAULT_EPSILON);
    setDefault(handleInvalid, "error");
    setDefault(outputType, "vector");
  }

  /** An RMSNorm with a random uid. */
  public RMSNorm() {
    this(Identifiable.randomUID("rmsNorm"));
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

  public Param<Vector> weight() {
    return weight;
  }

  public Param<String> handleInvalid() {
    return handleInvalid;
  }

  public Param<String> outputType() {
    return outputType;
  }

  public RMSNorm setInputCol(String value) {
    set(inputCol, value);
    return this;
  }

  public RMSNorm setOutputCol(String value) {
    set(outputCol, value);
    return this;
  }

  public RMSNorm setEpsilon(double value) {
    set(epsilon, (Object) value);
    return this;
  }

  public RMSNorm setWeight(Vector value) {
    set(weight, value);
    return this;
  }

  public RMSNorm setHandleInvalid(String value) {
    set(handleInvalid, value);
    return this;
  }

  public RMSNorm setOutputType(String value) {
    set(outputType, value);
    return this;
  }

  private int fixedLength() {
    return isDefined(weight) ? getOrDefault(weight).size() : 0;
  }

  @Override
  public StructType transformSchema(StructType schema) {
    return VectorColumns.transformSchema(schema, getOrDefault(inputCol), getOrDefault(outputCol),
        getOrDefault(outputType), fixedLength());
  }

  @Override
  public Dataset<Row> transform(Dataset<?> dataset) {
    double eps = (Double) getOrDefault(epsilon);
    double[] gamma = isDefined(weight) ? StageParams.array(getOrDefault(weight)) : null;
    return VectorColumns.transform(dataset, getOrDefault(inputCol), getOrDefault(outputCol),
        getOrDefault(outputType), getOrDefault(handleInvalid), fixedLength(),
        length -> new RmsNormalization(length, eps, gamma));
  }

  @Override
  public RMSNorm copy(ParamMap extra) {
    return defaultCopy(extra);
  }

  /** The reader for saved RMSNorms (Pipeline persistence finds it by reflection). */
  public static MLReader<RMSNorm> read() {
    return new DefaultParamsReader<>();
  }

  /** Loads an RMSNorm saved with {@code write().save(path)}. */
  public static RMSNorm load(String path) {
    return read().load(path);
  }
}
