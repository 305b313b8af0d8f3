package io.normstats.onnx.spark;

import io.normstats.spark.FeatureSelection;
import io.normstats.InputException;
import io.normstats.onnx.ElementType;
import io.normstats.onnx.ExternalData;
import io.normstats.onnx.NetworkInput;
import io.normstats.onnx.NetworkSession;
import io.normstats.onnx.OnnxModel;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.StructType;

/**
 * A network's output as a new column: each row's vector (a Spark ML Vector, {@code array<double>}
 * or {@code array<float>}) is fed to the network (row-major into its input's item shape) in batches
 * on the executors, and one of its outputs, flattened per row, is appended as a dense Vector
 * column. A row's output does not depend on its batch or partition ({@link NetworkSession}).
 */
public final class NetworkTransform {
  private NetworkTransform() {}

  /** The schema {@link #transform} returns: the input's, plus the output Vector column. */
  public static StructType schema(StructType input, String outputCol) {
    if (List.of(input.fieldNames()).contains(outputCol)) {
      throw new IllegalArgumentException("output column '" + outputCol + "' already exists");
    }
    return input.add(outputCol, SQLDataTypes.VectorType(), false);
  }

  /**
   * Appends the network's output for every row.
   *
   * @param model the network
   * @param inputCol the vector column fed to it
   * @param outputCol the Vector column to add
   * @param inputName the network input, or null for its only one
   * @param output the network output to write, or null for its first
   * @param batchSize rows per ONNX Runtime run
   * @throws IllegalArgumentException if the column is missing, not a vector column, or its vectors
   *     do not fit the network's input, the output is unknown, or the network is over 2 GB with
   *     its data ({@link OnnxModel#external()})
   * @throws InputException (data, when the rows are read) for a null vector or a NaN value
   */
  public static Dataset<Row> transform(Dataset<?> dataset, OnnxModel model, String inputCol,
      String outputCol, String inputName, String output, int batchSize) {
    Dataset<Row> df = dataset.toDF();
    StructType schema = schema(df.schema(), outputCol);
    NetworkInput input;
    FeatureSelection selection;
    long[] item;
    String out = output == null ? model.outputs().get(0) : output;
    try {
      input = model.input(inputName);
      selection = FeatureSelection.resolve(df, null, inputCol);
      item = input.itemShape(selection.vectorLength());
      if (!model.outputs().contains(out)) {
        throw InputException.usage(model.what() + " has no output '" + out + "' (outputs: "
            + String.join(", ", model.outputs()) + ")");
      }
      if (!model.external().isEmpty()) {
        throw InputException.usage(model.what() + " is over 2 GB with its data; a transform "
            + "runs networks up to 2 GB");
      }
    } catch (InputException e) {
      if (e.exitCode() == InputException.USAGE) {
        throw new IllegalArgumentException(e.getMessage(), e);
      }
      throw e;
    }
    // the input columns, then the network's input as the selection reads it (arrays as doubles)
    List<Column> columns = new ArrayList<>();
    for (String name : df.columns()) {
      columns.add(FeatureSelection.quoted(name));
    }
    columns.add(selection.projection()[0].as("_normstats_network_input"));
    Dataset<Row> withInput = df.select(columns.toArray(new Column[0]));
    int column = columns.size() - 1;
    String what = model.what();
    Broadcast<byte[]> bytes = JavaSparkContext.fromSparkContext(df.sparkSession().sparkContext())
        .broadcast(model.capturing(List.of(out)).model().toByteArray());
    MapPartitionsFunction<Row, Row> run = it -> {
      NetworkSession session = new NetworkSession(bytes.value(), what, input, item, List.of(out),
          batchSize);
      TaskContext task = TaskContext.get();
      if (task != null) {
        task.addTaskCompletionListener(new CloseSession(session));
      }
      return new Batches(it, session, selection, column);
    };
    return withInput.mapPartitions(run, Encoders.row(schema));
  }

  /** Closes a task's session when the task ends, however it ends. */
  private record CloseSession(NetworkSession session)
      implements org.apache.spark.util.TaskCompletionListener {
    @Override
    public void onTaskCompletion(TaskContext context) {
      session.close();
    }
  }

  /** The rows of one partition with the output appended, a batch at a time. */
  private static final class Batches implements Iterator<Row> {
    private final Iterator<Row> rows;
    private final NetworkSession session;
    private final FeatureSelection selection;
    private final int column;
    private final List<Row> batch = new ArrayList<>();
    private final List<Vector> outputs = new ArrayList<>();
    private int next;

    Batches(Iterator<Row> rows, NetworkSession session, FeatureSelection selection, int column) {
      this.rows = rows;
      this.session = session;
      this.selection = selection;
      this.column = column;
    }

    @Override
    public boolean hasNext() {
      if (next < batch.size()) {
        return true;
      }
      batch.clear();
      outputs.clear();
      next = 0;
      if (!rows.hasNext()) {
        return false;
      }
      int length = session.rowLength();
      while (batch.size() < session.capacity() && rows.hasNext()) {
        Row row = rows.next();
        double[] values = selection.values(RowFactory.create(row.get(column)));
        for (double v : values) {
          if (!Double.isFinite(v)) {
            throw InputException.data("column '" + selection.columns().get(0)
                + "' has a NaN or infinite value; the network needs complete rows");
          }
        }
        System.arraycopy(values, 0, session.rows(), batch.size() * length, length);
        batch.add(row);
      }
      int n = batch.size();
      session.run(n);
      long[] shape = session.shape(0);
      int size = 1;
      for (int d = 1; d < shape.length; d++) {
        size *= (int) shape[d];
      }
      boolean isFloat = session.type(0) != ElementType.DOUBLE;
      for (int i = 0; i < n; i++) {
        double[] v = new double[size];
        for (int j = 0; j < size; j++) {
          v[j] = isFloat ? session.floats(0)[i * size + j] : session.doubles(0)[i * size + j];
        }
        outputs.add(Vectors.dense(v));
      }
      return true;
    }

    @Override
    public Row next() {
      if (!hasNext()) {
        throw new NoSuchElementException();
      }
      Row row = batch.get(next);
      Object[] values = new Object[column + 1]; // the input's columns, then the output
      for (int k = 0; k < column; k++) {
        values[k] = row.get(k);
      }
      values[column] = outputs.get(next++);
      return RowFactory.create(values);
    }
  }
}
