package io.normstats.ml;

import io.normstats.norm.VectorNormalization;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.param.DoubleParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.util.DefaultParamsWritable;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.StructType;

/**
 * The params and transform that the per-row normalizations ({@link LayerNorm}, {@link RMSNorm})
 * share: inputCol, outputCol (default {@code uid + "__output"}), epsilon, handleInvalid ("error",
 * "skip", "keep"), outputType ("vector", "array").
 *
 * @param <T> the concrete stage, which the setters return
 */
public abstract class RowNormalizer<T extends RowNormalizer<T>> extends Transformer
    implements DefaultParamsWritable {
  private static final long serialVersionUID = 1L;

  private final String uid;
  private final Param<String> inputCol;
  private final Param<String> outputCol;
  private final DoubleParam epsilon;
  private final Param<String> handleInvalid;
  private final Param<String> outputType;

  RowNormalizer(String uid, String epsilonDoc, double defaultEpsilon) {
    this.uid = uid;
    inputCol = StageParams.inputCol(this);
    outputCol = StageParams.outputCol(this);
    epsilon = StageParams.epsilon(this, epsilonDoc);
    handleInvalid = StageParams.handleInvalid(this, "a null vector or a NaN/infinite element: "
        + "'error' fails, 'skip' drops the row, 'keep' outputs null or NaN");
    outputType = StageParams.outputType(this);
    setDefault(outputCol, uid + "__output");
    setDefault(epsilon, (Object) defaultEpsilon);
    setDefault(handleInvalid, "error");
    setDefault(outputType, "vector");
  }

  @SuppressWarnings("unchecked")
  private T self() {
    return (T) this;
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

  public Param<String> handleInvalid() {
    return handleInvalid;
  }

  public Param<String> outputType() {
    return outputType;
  }

  public T setInputCol(String value) {
    set(inputCol, value);
    return self();
  }

  public T setOutputCol(String value) {
    set(outputCol, value);
    return self();
  }

  public T setEpsilon(double value) {
    set(epsilon, (Object) value);
    return self();
  }

  public T setHandleInvalid(String value) {
    set(handleInvalid, value);
    return self();
  }

  public T setOutputType(String value) {
    set(outputType, value);
    return self();
  }

  /** The vector length the params fix, or 0 for any. */
  abstract int fixedLength();

  /**
   * The normalization of vectors of each length, with this stage's current params, capturing plain
   * values only (it is shipped to the executors).
   */
  abstract VectorColumns.SerializableIntFunction<VectorNormalization> normalizations();

  @Override
  public StructType transformSchema(StructType schema) {
    return VectorColumns.transformSchema(schema, getOrDefault(inputCol), getOrDefault(outputCol),
        getOrDefault(outputType), fixedLength());
  }

  /**
   * Adds the normalized column.
   *
   * @throws IllegalArgumentException if the input column is missing, not a vector type, or its
   *     metadata gives a length the params cannot take
   */
  @Override
  public Dataset<Row> transform(Dataset<?> dataset) {
    return VectorColumns.transform(dataset, getOrDefault(inputCol), getOrDefault(outputCol),
        getOrDefault(outputType), getOrDefault(handleInvalid), fixedLength(), normalizations());
  }

  @Override
  public T copy(ParamMap extra) {
    return defaultCopy(extra);
  }
}
