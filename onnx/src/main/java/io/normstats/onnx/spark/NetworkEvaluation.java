package io.normstats.onnx.spark;

import com.esotericsoftware.kryo.DefaultSerializer;
import com.esotericsoftware.kryo.serializers.JavaSerializer;
import io.normstats.InputException;
import io.normstats.onnx.ElementType;
import io.normstats.onnx.EvaluationResult;
import io.normstats.onnx.ExternalData;
import io.normstats.onnx.NetworkInput;
import io.normstats.onnx.NetworkSession;
import io.normstats.onnx.OnnxModel;
import io.normstats.spark.DenseRows;
import io.normstats.spark.FeatureSelection;
import io.normstats.spark.InputOrder;
import io.normstats.spark.OrderedInput;
import io.normstats.spark.TaskHook;
import io.normstats.spark.internal.InternalRows;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.types.DataTypes;

/**
 * Several versions of one network (the same graph with other BatchNorm statistics) run on the same
 * rows in one pass, compared by their predictions: the argmax of one output per row (the class a
 * classifier predicts), against labels when there are some, and against the first version's.
 */
public final class NetworkEvaluation {
  private NetworkEvaluation() {}

  /**
   * Where the labels come from: an array indexed by input order (from an IDX label file: item i
   * labels row i), or a column of the input; or neither.
   *
   * @param byIndex the label of row i at index i, or null
   * @param column the label column (numbers, cast to a whole number), or null
   * @param what how to name the labels in messages (the label file)
   */
  @DefaultSerializer(JavaSerializer.class) // Spark's Kryo cannot serialize records
  public record Labels(int[] byIndex, String column, String what) implements Serializable {}

  /**
   * An evaluation input made ready: its rows projected, and with labels by index, its rows counted
   * and matched with the labels.
   */
  public static final class Prepared {
    private final FeatureSelection selection;
    private final JavaRDD<InternalRow> rows;
    private final int labelIndex;
    private final int fileIndex;
    private final InputOrder order;
    private final Labels labels;

    private Prepared(FeatureSelection selection, JavaRDD<InternalRow> rows, int labelIndex,
        int fileIndex, InputOrder order, Labels labels) {
      this.selection = selection;
      this.rows = rows;
      this.labelIndex = labelIndex;
      this.fileIndex = fileIndex;
      this.order = order;
      this.labels = labels;
    }
  }

  /**
   * Prepares an evaluation input; with labels by index, counts its rows (one Spark job).
   *
   * @param input the evaluation input, with origin (its input order numbers the rows for labels
   *     by index)
   * @param selection its features
   * @param labels the labels, or null
   * @throws InputException (data) when a label file's count differs from the rows
   */
  public static Prepared prepare(OrderedInput input, FeatureSelection selection, Labels labels) {
    List<Column> columns = new ArrayList<>(List.of(selection.projection()));
    int labelIndex = -1;
    if (labels != null && labels.column() != null) {
      labelIndex = columns.size();
      columns.add(FeatureSelection.quoted(labels.column()).cast(DataTypes.LongType));
    }
    int fileIndex = columns.size();
    Dataset<Row> projected = input.selectWithOrigin(columns.toArray(new Column[0]));
    JavaRDD<InternalRow> rows = InternalRows.of(projected);
    InputOrder order = null;
    if (labels != null && labels.byIndex() != null) {
      order = count(rows, fileIndex);
      if (order.rows() != labels.byIndex().length) {
        throw InputException.data(labels.what() + " has " + labels.byIndex().length
            + " labels, the evaluation input has " + order.rows() + " rows");
      }
    }
    return new Prepared(selection, rows, labelIndex, fileIndex, order, labels);
  }

  /**
   * The output whose argmax is the prediction: {@code output}, or the model's first.
   *
   * @throws InputException (usage) if the model has no such output
   */
  public static String output(OnnxModel model, String output) {
    String out = output == null ? model.outputs().get(0) : output;
    if (!model.outputs().contains(out)) {
      throw InputException.usage(model.what() + " has no output '" + out + "' (outputs: "
          + String.join(", ", model.outputs()) + ")");
    }
    return out;
  }

  /**
   * Runs every version on every row of a prepared input.
   *
   * @param versions the models by name (the first is the reference for "changed"); all of one
   *     graph with one input
   * @param inputName the model input to feed, or null for its only one
   * @param output the output whose argmax is the prediction, or null for the first output
   * @param batchSize rows per ONNX Runtime run
   * @throws InputException (usage) for an unknown output; (data) for a missing label
   */
  public static EvaluationResult evaluate(Prepared prepared, Map<String, OnnxModel> versions,
      String inputName, String output, int batchSize) {
    OnnxModel first = versions.values().iterator().next();
    String out = output(first, output);
    NetworkInput in = first.input(inputName);
    FeatureSelection selection = prepared.selection;
    long[] item = in.itemShape(selection.vectorLength());
    JavaRDD<InternalRow> rows = prepared.rows;
    JavaSparkContext sc = JavaSparkContext.fromSparkContext(rows.context());
    List<String> names = new ArrayList<>(versions.keySet());
    List<Broadcast<byte[]>> models = new ArrayList<>();
    for (OnnxModel m : versions.values()) {
      models.add(sc.broadcast(m.capturing(List.of(out)).model().toByteArray()));
    }
    // the versions differ in their BatchNorm statistics only: one model's large tensors serve all
    ShippedExternalData external = ShippedExternalData.of(sc, first);
    Labels labels = prepared.labels;
    Broadcast<InputOrder> orderRef = prepared.order == null ? null
        : sc.broadcast(prepared.order);
    Broadcast<int[]> labelRef = labels != null && labels.byIndex() != null
        ? sc.broadcast(labels.byIndex()) : null;
    String what = first.what();
    int labelAt = prepared.labelIndex;
    int fileIndex = prepared.fileIndex;
    String labelColumn = labels == null ? null : labels.column();
    boolean labelled = labels != null;
    try {
      JavaRDD<Counts> partials = rows.mapPartitions(it -> {
        Counts counts = new Counts(names.size());
        List<NetworkSession> sessions = new ArrayList<>();
        try {
          for (Broadcast<byte[]> m : models) {
            sessions.add(new NetworkSession(m.value(), ShippedExternalData.tensors(external), what,
                in, item, List.of(out), batchSize));
          }
          DenseRows reader = new DenseRows(selection);
          InputOrder.Indexer indexer = orderRef == null ? null
              : new InputOrder.Indexer(orderRef.value());
          int capacity = sessions.get(0).capacity();
          int length = reader.length();
          double[] batch = new double[capacity * length];
          long[] batchLabels = new long[capacity];
          int n = 0;
          while (it.hasNext()) {
            InternalRow row = it.next();
            reader.read(row, batch, n * length);
            if (indexer != null) {
              long index = indexer.next(row.getUTF8String(fileIndex).toString(),
                  row.getLong(fileIndex + 1));
              batchLabels[n] = labelRef.value()[(int) index];
            } else if (labelAt >= 0) {
              if (row.isNullAt(labelAt)) {
                throw InputException.data("label column '" + labelColumn + "' has a null value");
              }
              batchLabels[n] = row.getLong(labelAt);
            }
            if (++n == capacity) {
              counts.add(sessions, batch, batchLabels, n, labelled);
              n = 0;
            }
          }
          if (n > 0) {
            counts.add(sessions, batch, batchLabels, n, labelled);
          }
        } finally {
          sessions.forEach(NetworkSession::close);
        }
        TaskHook.afterWork("evaluation pass");
        return Collections.singletonList(counts).iterator();
      });
      Counts total = rows.getNumPartitions() == 0 ? new Counts(names.size())
          : partials.treeReduce(Counts::merge);
      if (total.rows == 0) {
        throw InputException.data("the evaluation input has no rows");
      }
      return new EvaluationResult(total.rows, List.copyOf(names), labelled ? total.correct : null,
          total.changed);
    } finally {
      models.forEach(Broadcast::destroy);
      if (external != null) {
        external.release();
      }
      if (orderRef != null) {
        orderRef.destroy();
      }
      if (labelRef != null) {
        labelRef.destroy();
      }
    }
  }

  /** The input order of rows whose origin columns start at {@code fileIndex}: one counting job. */
  private static InputOrder count(JavaRDD<InternalRow> rows, int fileIndex) {
    if (rows.getNumPartitions() == 0) {
      return InputOrder.of(Map.of());
    }
    InputOrder.Counter counter = rows.mapPartitions(it -> {
      InputOrder.Counter c = new InputOrder.Counter();
      while (it.hasNext()) {
        InternalRow row = it.next();
        c.add(row.getUTF8String(fileIndex).toString(), row.getLong(fileIndex + 1));
      }
      return Collections.singletonList(c).iterator();
    }).treeReduce(InputOrder.Counter::merge);
    return InputOrder.of(new LinkedHashMap<>(counter.counts()));
  }

  /** One task's counts. */
  private static final class Counts implements Serializable {
    private static final long serialVersionUID = 1L;
    long rows;
    final long[] correct;
    final long[] changed;

    Counts(int versions) {
      correct = new long[versions];
      changed = new long[versions];
    }

    void add(List<NetworkSession> sessions, double[] batch, long[] labels, int n,
        boolean labelled) {
      int[][] predicted = new int[sessions.size()][];
      for (int v = 0; v < sessions.size(); v++) {
        NetworkSession s = sessions.get(v);
        System.arraycopy(batch, 0, s.rows(), 0, n * s.rowLength());
        s.run(n);
        predicted[v] = argmax(s, n);
      }
      for (int i = 0; i < n; i++) {
        for (int v = 0; v < sessions.size(); v++) {
          if (labelled && predicted[v][i] == labels[i]) {
            correct[v]++;
          }
          if (predicted[v][i] != predicted[0][i]) {
            changed[v]++;
          }
        }
      }
      rows += n;
    }

    /** The index of the largest value of each of the first n rows of output 0 (first on ties). */
    private static int[] argmax(NetworkSession s, int n) {
      long[] shape = s.shape(0);
      long size = 1;
      for (int d = 1; d < shape.length; d++) {
        size *= shape[d];
      }
      int k = (int) size;
      int[] out = new int[n];
      boolean isFloat = s.type(0) != ElementType.DOUBLE;
      float[] f = s.floats(0);
      double[] d = s.doubles(0);
      for (int i = 0; i < n; i++) {
        int best = 0;
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < k; j++) {
          double v = isFloat ? f[i * k + j] : d[i * k + j];
          if (v > max) {
            max = v;
            best = j;
          }
        }
        out[i] = best;
      }
      return out;
    }

    Counts merge(Counts other) {
      rows += other.rows;
      for (int v = 0; v < correct.length; v++) {
        correct[v] += other.correct[v];
        changed[v] += other.changed[v];
      }
      return this;
    }
  }
}
