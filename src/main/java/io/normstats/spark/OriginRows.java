package io.normstats.spark;

import io.normstats.InputException;
import java.util.Iterator;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.vectorized.ColumnVector;
import org.apache.spark.sql.vectorized.ColumnarBatch;
import org.apache.spark.unsafe.types.UTF8String;

/**
 * The rows of one partition of an ordered input, one at a time, for a pass that needs each row's
 * origin and its features as doubles: Spark's internal rows of the projection followed by the
 * origin columns, or the columnar batches of a file scan ({@link ColumnarScan#withOrigin}), read
 * without a row conversion.
 */
abstract class OriginRows {
  /** Moves to the next row; false when there is none. */
  abstract boolean advance();

  /** The current row's file. */
  abstract UTF8String file();

  /** Where the current row's split of the file starts. */
  abstract long start();

  /**
   * The current row's features into {@code out[0 .. vectorLength)}.
   *
   * @throws InputException (data) for a null value or vector, or a vector of another length
   */
  abstract void values(double[] out);

  /** Internal rows of {@code selection.projection()}, then the file and split start columns. */
  static OriginRows of(Iterator<InternalRow> rows, FeatureSelection selection) {
    int fileIndex = selection.projection().length;
    return new OriginRows() {
      private InternalRow row;

      @Override
      boolean advance() {
        row = rows.hasNext() ? rows.next() : null;
        return row != null;
      }

      @Override
      UTF8String file() {
        return row.getUTF8String(fileIndex);
      }

      @Override
      long start() {
        return row.getLong(fileIndex + 1);
      }

      @Override
      void values(double[] out) {
        selection.values(row, out);
      }
    };
  }

  /**
   * The batches of {@link ColumnarScan#withOrigin}, whose {@code columns} and {@code types} are
   * the features' then the file's and the split start's.
   */
  static OriginRows ofBatches(Iterator<ColumnarBatch> batches, int[] columns, DataType[] types,
      FeatureSelection selection) {
    int d = selection.size();
    return new OriginRows() {
      private ColumnarBatch batch;
      private int row = -1;

      @Override
      boolean advance() {
        while (batch == null || ++row >= batch.numRows()) {
          if (!batches.hasNext()) {
            return false;
          }
          batch = batches.next();
          row = -1;
        }
        return true;
      }

      @Override
      UTF8String file() {
        return batch.column(columns[d]).getUTF8String(row);
      }

      @Override
      long start() {
        return batch.column(columns[d + 1]).getLong(row);
      }

      @Override
      void values(double[] out) {
        for (int j = 0; j < d; j++) {
          ColumnVector c = batch.column(columns[j]);
          if (c.isNullAt(row)) {
            throw InputException.data("column '" + selection.columns().get(j)
                + "' has a null value");
          }
          out[j] = RowFolding.value(c, types[j], row);
        }
      }
    };
  }
}
