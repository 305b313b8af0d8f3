package io.normstats.sql;

import io.normstats.InputException;
import io.normstats.exact.FeatureMoments;
import io.normstats.spark.ExactStatistics;
import io.normstats.spark.FeatureSelection;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.ml.linalg.VectorUDT;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;

/**
 * The exact statistics of every feature per group of rows with equal values of the group-by
 * columns (the stats job's {@code --group-by}), with the semantics of {@link ExactStatistics}: NaN,
 * infinite and null values are left out of the statistics and counted. Computed with the exact
 * aggregate functions ({@link ExactFunctions#exact_moments}) in one Spark aggregation per kind of
 * input: scalar columns directly; a vector or array column exploded into (position, value) pairs
 * and grouped by position (or by channel), so every statistic is bit-for-bit what the stats job
 * computes over the group's rows alone, for any partitioning.
 */
public final class GroupedStatistics {
  private GroupedStatistics() {}

  /** One group: its key (the group-by columns' values, in order), rows and features. */
  public record Group(List<Object> key, long rows, List<ExactStatistics.Feature> features) {}

  /**
   * Computes the statistics of {@code selection}'s features per group of {@code groupBy}, groups
   * in the order of their keys (nulls first).
   *
   * @param selection with its vector length known ({@link FeatureSelection#resolve})
   * @throws InputException (usage) if a group-by column is missing or is also a feature
   */
  public static List<Group> compute(Dataset<Row> df, FeatureSelection selection,
      List<String> groupBy) {
    for (String g : groupBy) {
      FeatureSelection.field(df.schema(), g);
      if (selection.columns().contains(g)) {
        throw InputException.usage("column '" + g + "' is a feature; it cannot also group");
      }
    }
    Column[] keys = new Column[groupBy.size()];
    for (int i = 0; i < keys.length; i++) {
      keys[i] = FeatureSelection.quoted(groupBy.get(i));
    }
    String vector = selection.kind() == FeatureSelection.Kind.SCALARS ? null
        : selection.columns().get(0);
    List<Column> rowAggs = new ArrayList<>();
    rowAggs.add(functions.count(functions.lit(1)).as("__rows"));
    if (vector != null) {
      rowAggs.add(functions.count(functions.when(FeatureSelection.quoted(vector).isNull(), 1))
          .as("__null_vectors"));
    }
    List<Row> keyRows = df.groupBy(keys).agg(rowAggs.get(0), rowAggs.subList(1, rowAggs.size())
        .toArray(new Column[0])).orderBy(keys).collectAsList();
    int k = groupBy.size();
    Map<List<Object>, FeatureMoments[]> moments = new HashMap<>();
    if (vector == null) {
      List<Column> aggs = new ArrayList<>();
      for (String c : selection.columns()) {
        Column x = FeatureSelection.quoted(c).cast(DataTypes.DoubleType);
        aggs.add(ExactFunctions.exact_moments(valid(x)));
        aggs.add(functions.count(functions.when(invalid(x), 1)));
      }
      for (Row r : df.groupBy(keys).agg(aggs.get(0), aggs.subList(1, aggs.size())
          .toArray(new Column[0])).collectAsList()) {
        FeatureMoments[] m = new FeatureMoments[selection.size()];
        for (int j = 0; j < m.length; j++) {
          m[j] = moments(r.getStruct(k + 2 * j), r.getLong(k + 2 * j + 1), 0);
        }
        moments.put(key(r, k), m);
      }
    } else {
      StructField field = FeatureSelection.field(df.schema(), vector);
      Column v = FeatureSelection.quoted(vector);
      Column array = field.dataType() instanceof VectorUDT
          ? org.apache.spark.ml.functions.vector_to_array(v, "float64")
          : v.cast(new ArrayType(DataTypes.DoubleType, true));
      List<Column> select = new ArrayList<>(Arrays.asList(keys));
      select.add(functions.posexplode(array).as(new String[] {"__pos", "__x"}));
      Column index = selection.channels() == 0 ? functions.col("__pos")
          : functions.floor(functions.col("__pos").divide(selection.valuesPerFeature()))
              .cast(DataTypes.IntegerType);
      List<Column> by = new ArrayList<>(Arrays.asList(keys));
      by.add(index.as("__feature"));
      Column x = functions.col("__x");
      for (Row r : df.select(select.toArray(new Column[0])).groupBy(by.toArray(new Column[0]))
          .agg(ExactFunctions.exact_moments(valid(x)), functions.count(functions.when(
              invalid(x), 1))).collectAsList()) {
        FeatureMoments[] m = moments.computeIfAbsent(key(r, k),
            unused -> new FeatureMoments[selection.size()]);
        int j = ((Number) r.get(k)).intValue();
        if (j >= m.length) {
          throw InputException.data("column '" + vector + "' has a vector longer than "
              + selection.vectorLength());
        }
        m[j] = moments(r.getStruct(k + 1), r.getLong(k + 2), 0);
      }
    }
    List<Group> groups = new ArrayList<>();
    for (Row r : keyRows) {
      List<Object> key = key(r, k);
      long rows = r.getLong(k);
      long nullVectors = vector == null ? 0 : r.getLong(k + 1);
      FeatureMoments[] m = moments.getOrDefault(key, new FeatureMoments[selection.size()]);
      List<ExactStatistics.Feature> features = new ArrayList<>();
      for (int j = 0; j < m.length; j++) {
        FeatureMoments f = m[j] == null ? empty() : m[j];
        if (nullVectors > 0) {
          long perVector = selection.channels() == 0 ? 1 : selection.valuesPerFeature();
          f = new FeatureMoments(f.count(), f.mean(), f.varPop(), f.varSamp(), f.stdPop(),
              f.stdSamp(), f.min(), f.max(), f.nullCount() + nullVectors * perVector,
              f.nanCount());
        }
        features.add(new ExactStatistics.Feature(selection.featureName(j), j, f));
      }
      groups.add(new Group(key, rows, features));
    }
    return groups;
  }

  private static Column invalid(Column x) {
    return functions.isnan(x).or(functions.abs(x).equalTo(Double.POSITIVE_INFINITY));
  }

  /** {@code x}, with NaN and infinities as nulls (left out of the statistics and counted apart). */
  private static Column valid(Column x) {
    return functions.when(invalid(x), functions.lit(null).cast(DataTypes.DoubleType))
        .otherwise(x);
  }

  private static List<Object> key(Row r, int k) {
    List<Object> key = new ArrayList<>(k);
    for (int i = 0; i < k; i++) {
      key.add(r.get(i));
    }
    return key;
  }

  private static FeatureMoments empty() {
    return new FeatureMoments(0, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN,
        Double.NaN, Double.NaN, 0, 0);
  }

  /**
   * The stats job's moments from an exact_moments struct over the valid values, where
   * {@code invalid} NaN or infinite values were turned into nulls.
   */
  private static FeatureMoments moments(Row m, long invalid, long extraNulls) {
    long count = m.getLong(0);
    return new FeatureMoments(count, number(m, 1), number(m, 2), number(m, 3), number(m, 4),
        number(m, 5), number(m, 6), number(m, 7), m.getLong(8) - invalid + extraNulls, invalid);
  }

  private static double number(Row r, int i) {
    return r.isNullAt(i) ? Double.NaN : r.getDouble(i);
  }
}
