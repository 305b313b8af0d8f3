package io.normstats.spark;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/**
 * An input read with each row's origin.
 *
 * @param data the input's own columns, to choose features from
 * @param withOrigin the same rows with two more columns, {@link InputOrder#FILE_COLUMN} (the file)
 *     and {@link InputOrder#START_COLUMN} (where the row's split of that file starts), in the order
 *     each split yields its rows
 */
public record OrderedInput(Dataset<Row> data, Dataset<Row> withOrigin) {}
