package io.normstats.spark;

import io.normstats.InputException;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.util.ArrayData;

/**
 * Copies the features of Spark's internal rows, as {@link FeatureSelection#projection()} yields
 * them (the features first), into a dense double array, for consumers that need complete rows,
 * such as a network's input batch: scalar columns in order, a Spark ML Vector (dense, or sparse
 * with its zeros), or an {@code array<double>}. No {@code Row} or {@code Vector} object per row.
 */
final class DenseRows {
  private final FeatureSelection selection;
  private final int length;
  private final String column;

  /** A reader for rows of {@code selection}'s projection; its length must be known. */
  DenseRows(FeatureSelection selection) {
    this.selection = selection;
    this.length = selection.vectorLength();
    this.column = selection.kind() == FeatureSelection.Kind.SCALARS
        ? String.join(", ", selection.columns()) : selection.columns().get(0);
  }

  /** The number of values per row. */
  int length() {
    return length;
  }

  /**
   * Copies row {@code row}'s features to {@code out[offset .. offset + length())}.
   *
   * @throws InputException (data) for a null value, vector or element, a NaN or infinite value,
   *     or a vector of another length
   */
  void read(InternalRow row, double[] out, int offset) {
    switch (selection.kind()) {
      case SCALARS -> {
        for (int j = 0; j < length; j++) {
          if (row.isNullAt(j)) {
            throw InputException.data("column '" + selection.columns().get(j)
                + "' has a null value; the network needs complete rows");
          }
          out[offset + j] = row.getDouble(j);
        }
      }
      case VECTOR -> {
        if (row.isNullAt(0)) {
          throw InputException.data("column '" + column
              + "' has a null vector; the network needs complete rows");
        }
        InternalRow vector = row.getStruct(0, RowFolding.VECTOR_FIELDS);
        ArrayData values = vector.getArray(3);
        if (vector.getByte(0) == RowFolding.DENSE) {
          selection.checkLength(values.numElements());
          RowFolding.copy(values, length, out, offset);
        } else {
          selection.checkLength(vector.getInt(1));
          java.util.Arrays.fill(out, offset, offset + length, 0.0);
          ArrayData indices = vector.getArray(2);
          for (int k = 0; k < indices.numElements(); k++) {
            out[offset + indices.getInt(k)] = values.getDouble(k);
          }
        }
      }
      case ARRAY -> {
        if (row.isNullAt(0)) {
          throw InputException.data("column '" + column
              + "' has a null array; the network needs complete rows");
        }
        ArrayData values = row.getArray(0);
        selection.checkLength(values.numElements());
        for (int k = 0; k < length; k++) {
          if (values.isNullAt(k)) {
            throw InputException.data("column '" + column
                + "' has a null element; the network needs complete rows");
          }
        }
        RowFolding.copy(values, length, out, offset);
      }
    }
    for (int k = offset; k < offset + length; k++) {
      if (!Double.isFinite(out[k])) {
        throw InputException.data("column '" + column + "' has a NaN or infinite value ("
            + out[k] + "); the network needs complete rows");
      }
    }
  }
}
