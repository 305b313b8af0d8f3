package io.normstats.spark;

import io.normstats.InputException;
import io.normstats.exact.MomentAccumulator;
import io.normstats.spark.internal.ArrayCopy;
import java.util.Iterator;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.util.ArrayData;
import org.apache.spark.sql.types.ByteType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DecimalType;
import org.apache.spark.sql.types.DoubleType;
import org.apache.spark.sql.types.FloatType;
import org.apache.spark.sql.types.IntegerType;
import org.apache.spark.sql.types.LongType;
import org.apache.spark.sql.types.ShortType;
import org.apache.spark.sql.vectorized.ColumnVector;
import org.apache.spark.sql.vectorized.ColumnarBatch;

/**
 * Folds Spark's internal rows and columnar batches into a {@link MomentAccumulator} without the
 * external Row conversion: no {@code Row} or {@code Vector} object per row, no boxing. Dense values
 * are written straight into the accumulator's row buffer ({@link MomentAccumulator.RowWriter}) (one memory copy per row for Spark's
 * {@code UnsafeArrayData}, one column loop per batch for columnar scans); rows with nulls and sparse
 * vectors take the value-by-value path.
 *
 * <p>Rows are those of {@link FeatureSelection#projection()}: the features first (doubles for scalar
 * columns, the vector struct of Spark ML's VectorUDT, or {@code array<double>}), then any extra
 * columns, which are ignored here.
 */
final class RowFolding {
  /** VectorUDT's struct: type (0 sparse, 1 dense), size, indices, values. */
  static final int VECTOR_FIELDS = 4;
  static final byte DENSE = 1;

  private final FeatureSelection selection;
  private final MomentAccumulator acc;
  private final int length;
  private final int perFeature;
  private int[] sparseIndices = new int[0];
  private double[] sparseValues = new double[0];
  /** The row and the array that the two writers below copy from, for one call each. */
  private InternalRow scalars;
  private ArrayData dense;
  private final MomentAccumulator.RowWriter scalarsWriter;
  private final MomentAccumulator.RowWriter denseWriter;

  RowFolding(FeatureSelection selection) {
    this.selection = selection;
    this.length = selection.vectorLength();
    this.perFeature = selection.valuesPerFeature();
    this.acc = new MomentAccumulator(selection.size(), perFeature);
    this.scalarsWriter = (out, offset) -> {
      for (int j = 0; j < length; j++) {
        out[offset + j] = scalars.getDouble(j);
      }
    };
    this.denseWriter = (out, offset) -> ArrayCopy.doubles(dense, length, out, offset);
  }

  /**
   * The vector length of a row of a VECTOR or ARRAY selection whose feature column is not null.
   */
  static int vectorLength(InternalRow row, FeatureSelection.Kind kind) {
    if (kind == FeatureSelection.Kind.ARRAY) {
      return row.getArray(0).numElements();
    }
    InternalRow vector = row.getStruct(0, VECTOR_FIELDS);
    return vector.getByte(0) == DENSE ? vector.getArray(3).numElements() : vector.getInt(1);
  }

  MomentAccumulator accumulator() {
    return acc;
  }

  /** Adds every row of {@code rows}. */
  MomentAccumulator addAll(Iterator<InternalRow> rows) {
    while (rows.hasNext()) {
      add(rows.next());
    }
    return acc;
  }

  /**
   * Adds one row.
   *
   * @throws InputException (data) if a vector's length differs from the selection's
   */
  void add(InternalRow row) {
    switch (selection.kind()) {
      case SCALARS -> addScalars(row);
      case VECTOR -> addVector(row);
      case ARRAY -> addArray(row);
    }
  }

  private void addScalars(InternalRow row) {
    int d = length;
    boolean anyNull = false;
    for (int j = 0; j < d; j++) {
      if (row.isNullAt(j)) {
        anyNull = true;
        break;
      }
    }
    if (anyNull) {
      acc.beginRow();
      for (int j = 0; j < d; j++) {
        if (row.isNullAt(j)) {
          acc.addNull(j);
        } else {
          acc.add(j, row.getDouble(j));
        }
      }
      return;
    }
    scalars = row;
    acc.addDense(scalarsWriter);
  }

  private void addVector(InternalRow row) {
    if (row.isNullAt(0)) {
      acc.addMissingRow();
      return;
    }
    InternalRow vector = row.getStruct(0, VECTOR_FIELDS);
    ArrayData values = vector.getArray(3);
    if (vector.getByte(0) == DENSE) {
      selection.checkLength(values.numElements());
      copyDense(values);
      return;
    }
    selection.checkLength(vector.getInt(1));
    ArrayData indices = vector.getArray(2);
    int nnz = indices.numElements();
    if (sparseIndices.length < nnz) {
      sparseIndices = new int[Math.max(nnz, 2 * sparseIndices.length)];
      sparseValues = new double[sparseIndices.length];
    }
    for (int k = 0; k < nnz; k++) {
      sparseIndices[k] = indices.getInt(k);
      sparseValues[k] = values.getDouble(k);
    }
    if (perFeature == 1) {
      acc.addSparse(sparseIndices, sparseValues, nnz);
    } else {
      acc.addSparseChannels(sparseIndices, sparseValues, nnz);
    }
  }

  private void addArray(InternalRow row) {
    if (row.isNullAt(0)) {
      acc.addMissingRow();
      return;
    }
    ArrayData values = row.getArray(0);
    selection.checkLength(values.numElements());
    for (int k = 0; k < length; k++) {
      if (values.isNullAt(k)) {
        acc.beginRow();
        for (int m = 0; m < length; m++) {
          if (values.isNullAt(m)) {
            acc.addNull(m / perFeature);
          } else {
            acc.add(m / perFeature, values.getDouble(m));
          }
        }
        return;
      }
    }
    copyDense(values);
  }

  /** Copies a dense array of {@code length} non-null doubles into the next buffered row. */
  private void copyDense(ArrayData values) {
    dense = values;
    acc.addDense(denseWriter);
  }

  /**
   * Adds every row of a columnar batch whose columns {@code columns[j]} hold the scalar features
   * j, of numeric types {@code types[j]} (converted to double as {@link FeatureSelection} says).
   */
  void addBatch(ColumnarBatch batch, int[] columns, DataType[] types) {
    int n = batch.numRows();
    int d = types.length;
    ColumnVector[] vectors = new ColumnVector[d];
    boolean anyNull = false;
    for (int j = 0; j < d; j++) {
      vectors[j] = batch.column(columns[j]);
      anyNull |= vectors[j].hasNull();
    }
    if (anyNull) {
      for (int i = 0; i < n; i++) {
        addBatchRow(vectors, types, i);
      }
      return;
    }
    acc.addColumns(n, (j, from, rows, out, at, stride) ->
        copyColumn(vectors[j], types[j], from, rows, out, at, stride));
  }

  private void addBatchRow(ColumnVector[] vectors, DataType[] types, int i) {
    acc.beginRow();
    for (int j = 0; j < types.length; j++) {
      ColumnVector c = vectors[j];
      if (c.isNullAt(i)) {
        acc.addNull(j);
      } else {
        acc.add(j, value(c, types[j], i));
      }
    }
  }

  /** Column values {@code from .. from+rows-1} into {@code out[at + r * stride]}. */
  static void copyColumn(ColumnVector c, DataType type, int from, int rows, double[] out,
      int at, int stride) {
    if (type instanceof DoubleType) {
      for (int r = 0; r < rows; r++) {
        out[at + r * stride] = c.getDouble(from + r);
      }
    } else if (type instanceof FloatType) {
      for (int r = 0; r < rows; r++) {
        out[at + r * stride] = c.getFloat(from + r);
      }
    } else if (type instanceof IntegerType) {
      for (int r = 0; r < rows; r++) {
        out[at + r * stride] = c.getInt(from + r);
      }
    } else {
      for (int r = 0; r < rows; r++) {
        out[at + r * stride] = value(c, type, from + r);
      }
    }
  }

  /** Value i of a numeric column, as a double (as {@link FeatureSelection#projection()} casts). */
  static double value(ColumnVector c, DataType type, int i) {
    if (type instanceof DoubleType) {
      return c.getDouble(i);
    } else if (type instanceof FloatType) {
      return c.getFloat(i);
    } else if (type instanceof IntegerType) {
      return c.getInt(i);
    } else if (type instanceof LongType) {
      return c.getLong(i);
    } else if (type instanceof ShortType) {
      return c.getShort(i);
    } else if (type instanceof ByteType) {
      return c.getByte(i);
    } else if (type instanceof DecimalType t) {
      return c.getDecimal(i, t.precision(), t.scale()).toDouble();
    }
    throw new IllegalArgumentException("not a numeric column type: " + type);
  }
}
