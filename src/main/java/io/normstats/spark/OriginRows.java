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
  /**
   * The rows of one tile of a columnar batch. Each column is copied {@value} rows at a time: a
   * shorter run (16 rows of 3,000 columns, as a 256 KB tile had it) fetches the column's values,
   * and a dictionary-encoded column's dictionary, from memory again for every tile, which made the
   * copy 70% of the placing pass on 3,000 columns. The tile holds {@value} x F doubles (6 MB for
   * 3,000 features, a sixteenth of the batch of 4,096 rows Spark's reader holds for them).
   */
  static final int TILE_ROWS = 256;

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
   * the features' then the file's and the split start's. The features are copied a tile of rows at
   * a time into a row-major buffer, one column loop per tile (reading a row across thousands of
   * column vectors value by value cost 90 ns per value on 3,000 columns).
   */
  static OriginRows ofBatches(Iterator<ColumnarBatch> batches, int[] columns, DataType[] types,
      FeatureSelection selection) {
    int d = selection.size();
    return new OriginRows() {
      private final double[] tile = new double[Math.multiplyExact(TILE_ROWS, d)];
      private ColumnarBatch batch;
      private int row = -1;
      private int tileStart;
      private int tileRows;

      @Override
      boolean advance() {
        while (batch == null || ++row >= batch.numRows()) {
          if (!batches.hasNext()) {
            return false;
          }
          batch = batches.next();
          row = -1;
          tileStart = 0;
          tileRows = 0;
        }
        if (row >= tileStart + tileRows) {
          fill(row);
        }
        return true;
      }

      private void fill(int from) {
        int n = Math.min(TILE_ROWS, batch.numRows() - from);
        for (int j = 0; j < d; j++) {
          ColumnVector c = batch.column(columns[j]);
          if (c.hasNull()) {
            for (int i = from; i < from + n; i++) {
              if (c.isNullAt(i)) {
                throw InputException.data("column '" + selection.columns().get(j)
                    + "' has a null value");
              }
            }
          }
          RowFolding.copyColumn(c, types[j], from, n, tile, j, d);
        }
        tileStart = from;
        tileRows = n;
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
        System.arraycopy(tile, (row - tileStart) * d, out, 0, d);
      }
    };
  }
}
