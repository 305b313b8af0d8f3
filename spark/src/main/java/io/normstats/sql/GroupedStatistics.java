package io.normstats.sql;

import io.normstats.InputException;
import io.normstats.exact.ScalarMoments;
import io.normstats.result.FeatureStatistics;
import io.normstats.result.GroupStatistics;
import io.normstats.spark.ExactStatistics;
import io.normstats.spark.FeatureSelection;
import io.normstats.spark.internal.MomentsBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.functions;

/**
 * The exact statistics of every feature per group of rows with equal values of the group-by
 * columns (the stats job's {@code --group-by}), with the semantics of {@link ExactStatistics}: NaN,
 * infinite and null values are left out of the statistics and counted. Computed with the exact
 * aggregate state ({@link ExactFunctions#exact_state}, a {@link ScalarMoments} per group and
 * scalar column, or per group and vector element, merged exactly into channels when the features
 * are channels) in one Spark aggregation, so every statistic is bit-for-bit what the stats job
 * computes over the group's rows alone, for any partitioning.
 */
public final class GroupedStatistics {
  private GroupedStatistics() {}

  /**
   * Computes the statistics of {@code selection}'s features per group of {@code groupBy}, groups
   * in the order of their keys (nulls first).
   *
   * @param selection with its vector length known ({@link FeatureSelection#resolve})
   * @throws InputException (usage) if a group-by column is missing or is also a feature
   */
  public static List<GroupStatistics> compute(Dataset<Row> df, FeatureSelection selection,
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
      // one exact state per group and vector element, merged into channels when the features
      // are channels (the element-wise states are exact, so their merge is too)
      List<Row> states;
      try {
        states = df.groupBy(keys).agg(ExactFunctions.exact_state(FeatureSelection.quoted(vector)))
            .collectAsList();
      } catch (Exception e) { // Spark's SparkException is checked but undeclared
        // the task's exception reaches the driver as the text of Spark's job failure
        for (Throwable c = e; c != null; c = c.getCause() == c ? null : c.getCause()) {
          java.util.regex.Matcher m = MomentsBuffer.LENGTH_MISMATCH.matcher(
              String.valueOf(c.getMessage()));
          if (m.find()) {
            throw InputException.data("column '" + vector + "' has vectors of different lengths: "
                + m.group(1) + " and " + m.group(2), e);
          }
        }
        throw e;
      }
      int perFeature = selection.channels() == 0 ? 1 : selection.valuesPerFeature();
      for (Row r : states) {
        ScalarMoments[] elements = MomentsBuffer.elementsOf((byte[]) r.get(k));
        if (elements == null) {
          continue; // only NULL vectors: counted below
        }
        if (elements.length != selection.vectorLength()) {
          throw InputException.data("column '" + vector + "' has vectors of different lengths: "
              + selection.vectorLength() + " and " + elements.length);
        }
        ScalarMoments[] m = new ScalarMoments[selection.size()];
        for (int j = 0; j < m.length; j++) {
          m[j] = elements[j * perFeature];
          for (int e = j * perFeature + 1; e < (j + 1) * perFeature; e++) {
            m[j].merge(elements[e]);
          }
        }
        moments.put(key(r, k), m);
      }
    }
    List<GroupStatistics> groups = new ArrayList<>();
    for (Row r : keyRows) {
      List<Object> key = key(r, k);
      long rows = r.getLong(k);
      long nullVectors = vector == null ? 0 : r.getLong(k + 1);
      ScalarMoments[] m = moments.getOrDefault(key, new ScalarMoments[selection.size()]);
      List<FeatureStatistics> features = new ArrayList<>();
      List<ScalarMoments> states = new ArrayList<>();
      for (int j = 0; j < m.length; j++) {
        ScalarMoments state = m[j] == null ? new ScalarMoments() : m[j];
        // a null vector is a null for each of the values it would have given the feature
        state.addNulls(nullVectors * (selection.channels() == 0 ? 1
            : selection.valuesPerFeature()));
        features.add(new FeatureStatistics(selection.featureName(j), j,
            state.toFeatureMoments()));
        states.add(state);
      }
      groups.add(new GroupStatistics(key, rows, features, states));
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
