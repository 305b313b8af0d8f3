package io.normstats.spark;

import java.util.Arrays;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.functions;

/**
 * An input read with each row's origin.
 *
 * @param data the input's own columns, to choose features from
 * @param withOrigin the same rows with two more columns, {@link InputOrder#FILE_COLUMN} (the file)
 *     and {@link InputOrder#START_COLUMN} (where the row's split of that file starts), in the order
 *     each split yields its rows
 */
public record OrderedInput(Dataset<Row> data, Dataset<Row> withOrigin) {
  /**
   * {@code columns} of the rows with their origin, followed by {@link InputOrder#FILE_COLUMN} (at
   * index {@code columns.length}) and {@link InputOrder#START_COLUMN}.
   */
  public Dataset<Row> selectWithOrigin(Column... columns) {
    Column[] all = Arrays.copyOf(columns, columns.length + 2);
    all[columns.length] = functions.col(InputOrder.FILE_COLUMN);
    all[columns.length + 1] = functions.col(InputOrder.START_COLUMN);
    return withOrigin.select(all);
  }
}
