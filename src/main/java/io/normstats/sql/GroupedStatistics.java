package io.normstats.sql;

import io.normstats.InputException;
import io.normstats.exact.ScalarMoments;
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
 * aggregate state ({@link ExactFunctions#exact_state}, a {@link ScalarMoments} per group and feature)
 * in one Spark aggregation per kind of input: scalar columns directly; a vector or array column exploded into (position, value) pairs
 * and grouped by position (or by channel), so every statistic is bit-for-bit what the stats job
 * computes over the group's rows alone, for any partitioning.
 */
public final class GroupedStatistics {
  private GroupedStatistics() {}

  /**
   * One group: its key (the group-by columns' values, in order), rows, features and each
   * feature's exact state (to store and merge with later runs).
   */
  public record Group(List<Object> key, long rows, List<ExactStatistics.Feature> features,
      List<ScalarMoments> states) {}

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
    Map<List<Object>, ScalarMoments[]> moments = new HashMap<>();
    if (vector == null) {
      List<Column> aggs = new ArrayList<>();
      for (String c : selection.columns()) {
        aggs.add(ExactFunctions.exact_state(FeatureSelection.quoted(c)));
      }
      for (Row r : df.groupBy(keys).agg(aggs.get(0), aggs.subList(1, aggs.size())
          .toArray(new Column[0])).collectAsList()) {
        ScalarMoments[] m = new ScalarMoments[selection.size()];
        for (int j = 0; j < m.length; j++) {
          m[j] = ScalarMoments.fromBytes((byte[]) r.get(k + j));
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
      for (Row r : df.select(select.toArray(new Column[0])).groupBy(by.toArray(new Column[0]))
          .agg(ExactFunctions.exact_state(functions.col("__x"))).collectAsList()) {
        ScalarMoments[] m = moments.computeIfAbsent(key(r, k),
            unused -> new ScalarMoments[selection.size()]);
        int j = ((Number) r.get(k)).intValue();
        if (j >= m.length) {
          throw InputException.data("column '" + vector + "' has a vector longer than "
              + selection.vectorLength());
        }
        m[j] = ScalarMoments.fromBytes((byte[]) r.get(k + 1));
      }
    }
    List<Group> groups = new ArrayList<>();
    for (Row r : keyRows) {
      List<Object> key = key(r, k);
      long rows = r.getLong(k);
      long nullVectors = vector == null ? 0 : r.getLong(k + 1);
      ScalarMoments[] m = moments.getOrDefault(key, new ScalarMoments[selection.size()]);
      List<ExactStatistics.Feature> features = new ArrayList<>();
      List<ScalarMoments> states = new ArrayList<>();
      for (int j = 0; j < m.length; j++) {
        ScalarMoments state = m[j] == null ? new ScalarMoments() : m[j];
        // a null vector is a null for each of the values it would have given the feature
        state.addNulls(nullVectors * (selection.channels() == 0 ? 1
            : selection.valuesPerFeature()));
        features.add(new ExactStatistics.Feature(selection.featureName(j), j,
            state.toFeatureMoments()));
        states.add(state);
      }
      groups.add(new Group(key, rows, features, states));
    }
    return groups;
  }

  private static List<Object> key(Row r, int k) {
    List<Object> key = new ArrayList<>(k);
    for (int i = 0; i < k; i++) {
      key.add(r.get(i));
    }
    return key;
  }
}
