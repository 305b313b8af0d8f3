package io.normstats.spark;

import io.normstats.InputException;
import org.apache.spark.sql.catalyst.InternalRow;

/**
 * Copies the features of Spark's internal rows, as {@link FeatureSelection#projection()} yields
 * them (the features first), into a dense double array, for consumers that need complete rows,
 * such as a network's input batch: scalar columns in order, a Spark ML Vector (dense, or sparse
 * with its zeros), or an {@code array<double>}. No {@code Row} or {@code Vector} object per row.
 */
public final class DenseRows {
  private final FeatureSelection selection;
  private final int length;
  private final String column;

  /** A reader for rows of {@code selection}'s projection; its length must be known. */
  public DenseRows(FeatureSelection selection) {
    this.selection = selection;
    this.length = selection.vectorLength();
    this.column = selection.kind() == FeatureSelection.Kind.SCALARS
        ? String.join(", ", selection.columns()) : selection.columns().get(0);
  }

  /** The number of values per row. */
  public int length() {
    return length;
  }

  /**
   * Copies row {@code row}'s features to {@code out[offset .. offset + length())}.
   *
   * @throws InputException (data) for a null value, vector or element, a NaN or infinite value,
   *     or a vector of another length
   */
  public void read(InternalRow row, double[] out, int offset) {
    selection.values(row, out, offset, "; the network needs complete rows");
    for (int k = offset; k < offset + length; k++) {
      if (!Double.isFinite(out[k])) {
        throw InputException.data("column '" + column + "' has a NaN or infinite value ("
            + out[k] + "); the network needs complete rows");
      }
    }
  }
}
