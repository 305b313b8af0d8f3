package io.normstats.ml;

import io.normstats.ml.param.HasEpsilon;
import io.normstats.ml.param.HasHandleInvalid;
import io.normstats.ml.param.HasInputCol;
import io.normstats.ml.param.HasOutputCol;
import io.normstats.ml.param.HasOutputType;
import io.normstats.ml.param.StageParams;
import io.normstats.norm.VectorNormalization;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.util.DefaultParamsWritable;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.StructType;

/**
 * The params and transform that the per-row normalizations ({@link LayerNorm}, {@link RMSNorm})
 * share: the shared traits inputCol, outputCol (default {@code uid + "__output"}), epsilon,
 * handleInvalid ("error", "skip": drop the row, "keep": output NaN or null), outputType
 * ("vector", "array").
 *
 * @param <T> the concrete stage, which the setters return
 */
public abstract class RowNormalizer<T extends RowNormalizer<T>> extends Transformer
    implements HasInputCol<T>, HasOutputCol<T>, HasEpsilon<T>, HasHandleInvalid<T>,
    HasOutputType<T>, DefaultParamsWritable {
  private static final long serialVersionUID = 1L;

  private final String uid;
  private final StageParams params;

  /** A stage with the given uid and the shared defaults ({@link StageParams#initialize}). */
  RowNormalizer(String uid) {
    this.uid = uid;
    this.params = new StageParams(this);
    StageParams.initialize(this);
  }

  @Override
  public String uid() {
    return uid;
  }

  @Override
  public StageParams stageParams() {
    return params;
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
    return VectorColumns.transformSchema(schema, getInputCol(), getOutputCol(),
        getOutputType(), fixedLength());
  }

  /**
   * Adds the normalized column.
   *
   * @throws IllegalArgumentException if the input column is missing, not a vector type, or its
   *     metadata gives a length the params cannot take
   */
  @Override
  public Dataset<Row> transform(Dataset<?> dataset) {
    return VectorColumns.transform(dataset, getInputCol(), getOutputCol(),
        getOutputType(), getHandleInvalid(), fixedLength(), normalizations());
  }

  @Override
  public T copy(ParamMap extra) {
    return defaultCopy(extra);
  }
}
