package io.normstats.spark;

import io.normstats.InputException;
import io.normstats.onnx.ActivationMoments;
import io.normstats.onnx.ElementType;
import io.normstats.onnx.NetworkInput;
import io.normstats.onnx.NetworkSession;
import io.normstats.onnx.OnnxModel;
import java.io.Serializable;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.Partitioner;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.catalyst.InternalRow;
import scala.Tuple2;

/**
 * Network passes on Spark: every row of the input through an ONNX network on the executors, with
 * the exact moments of some of its tensors (or its predictions) merged on the driver.
 *
 * <p>Each pass broadcasts the model's bytes (once per executor) and runs one
 * {@link NetworkSession} per task: rows are read from Spark's internal rows ({@link DenseRows}),
 * run in batches, and each captured tensor, as the graph computes it ({@link OnnxModel#capturing}),
 * is folded into {@link ActivationMoments}. Partial
 * moments merge exactly, so a pass's moments are bit-for-bit the same for any partitioning as long
 * as each row's activations do not depend on its batch, which {@link NetworkSession} provides. A
 * retried task recomputes its partition from scratch.
 */
public final class NetworkPasses {
  /** The bytes of rows each task of an ordered pass gets, about. */
  static final long TASK_BYTES = 16L << 20;

  private NetworkPasses() {}

  /**
   * What one pass runs: a captured graph, its input, and the batch size.
   *
   * @param what the model's name for messages
   * @param capture the graph and the outputs to read
   * @param names what each output is, for messages (the layer whose input it is)
   * @param input the input fed
   * @param itemShape one row's item shape
   * @param batchSize rows per ONNX Runtime run
   */
  public record Pass(String what, OnnxModel.Capture capture, String[] names, NetworkInput input,
      long[] itemShape, int batchSize) {}

  /** What each task of a pass needs besides the broadcast model. */
  private record Task(String what, List<String> outputs, String[] names, NetworkInput input,
      long[] itemShape, int batchSize) implements Serializable {
    Task(Pass pass) {
      this(pass.what(), pass.capture().outputs(), pass.names(), pass.input(), pass.itemShape(),
          pass.batchSize());
    }

    NetworkSession session(byte[] model) {
      return new NetworkSession(model, what, input, itemShape, outputs, batchSize);
    }
  }

  /** A pass's moments, and the input order counted in it (or null). */
  public record Captured(ActivationMoments moments, InputOrder order) {}

  /**
   * Runs {@code rows} (rows of {@code selection}'s projection, optionally followed by the origin
   * columns) through the pass's graph.
   *
   * @param fileIndex the index of {@link InputOrder#FILE_COLUMN} in the rows (then
   *     {@link InputOrder#START_COLUMN} follows it), to count the input order in the same pass;
   *     -1 not to
   * @throws InputException (data) for incomplete rows, rows of another length, or a model ONNX
   *     Runtime cannot run
   */
  public static Captured capture(JavaRDD<InternalRow> rows, FeatureSelection selection, Pass pass,
      int fileIndex) {
    JavaSparkContext sc = JavaSparkContext.fromSparkContext(rows.context());
    Broadcast<byte[]> model = sc.broadcast(pass.capture().model().toByteArray());
    Task task = new Task(pass);
    try {
      JavaRDD<Partial> partials = rows.mapPartitions(it -> {
        Partial p = new Partial(new ActivationMoments(task.names()),
            fileIndex >= 0 ? new InputOrder.Counter() : null);
        try (NetworkSession session = task.session(model.value())) {
          Batcher batcher = new Batcher(session, selection, p.moments());
          while (it.hasNext()) {
            InternalRow row = it.next();
            if (p.counter() != null) {
              p.counter().add(row.getUTF8String(fileIndex).toString(), row.getLong(fileIndex + 1));
            }
            batcher.add(row);
          }
          batcher.flush();
        }
        FaultInjection.afterWork("network pass");
        return Collections.singletonList(p).iterator();
      });
      Partial total = rows.getNumPartitions() == 0
          ? new Partial(new ActivationMoments(pass.names()), new InputOrder.Counter())
          : partials.treeReduce(Partial::merge, rows.getNumPartitions() > 64 ? 3 : 2);
      return new Captured(total.moments(),
          total.counter() == null ? null : InputOrder.of(total.counter().counts()));
    } finally {
      model.destroy();
    }
  }

  /**
   * Runs every row through the pass's graph and only counts them: the same reading, batching and
   * ONNX Runtime runs as {@link #capture}, without the moments. The baseline the benchmark
   * measures a pass against.
   *
   * @return the number of rows run
   */
  public static long infer(JavaRDD<InternalRow> rows, FeatureSelection selection, Pass pass) {
    JavaSparkContext sc = JavaSparkContext.fromSparkContext(rows.context());
    Broadcast<byte[]> model = sc.broadcast(pass.capture().model().toByteArray());
    Task task = new Task(pass);
    try {
      return rows.mapPartitions(it -> {
        long n = 0;
        try (NetworkSession session = task.session(model.value())) {
          DenseRows reader = new DenseRows(selection);
          double[] buffer = session.rows();
          int filled = 0;
          while (it.hasNext()) {
            reader.read(it.next(), buffer, filled * reader.length());
            if (++filled == session.capacity()) {
              session.run(filled);
              n += filled;
              filled = 0;
            }
          }
          if (filled > 0) {
            session.run(filled);
            n += filled;
          }
        }
        return Collections.singletonList(n).iterator();
      }).reduce(Long::sum);
    } finally {
      model.destroy();
    }
  }

  /**
   * Runs the rows in input order, in minibatches of {@code minibatch} consecutive rows (rows
   * {@code [b*m, (b+1)*m)}), each minibatch as one ONNX Runtime run: for graphs whose output
   * depends on the whole batch, such as BatchNormalization in training mode. The rows are
   * shuffled once to ranges of whole minibatches (about {@value #TASK_BYTES} bytes per task), so
   * the minibatches, and the moments, are the same for any partitioning of the input. A last
   * minibatch of one row is left out (training-mode BatchNorm cannot normalize one row), and so
   * is a last partial one when the model fixes its batch size.
   *
   * @param source the input's rows with origin: the projection, then the file and split start at
   *     {@code fileIndex}, in each split's order (not reshuffled)
   * @param order the input order (row counts per split) from an earlier pass
   * @throws InputException (data) if the input changed since {@code order} was counted
   */
  public static ActivationMoments captureInMinibatches(JavaRDD<InternalRow> source,
      FeatureSelection selection, Pass pass, int fileIndex, InputOrder order, int minibatch) {
    long rowsTotal = order.rows();
    long rowBytes = (long) pass.input().type().bytes() * selection.vectorLength() + 64;
    long perTask = Math.max(1, TASK_BYTES / rowBytes / minibatch) * minibatch;
    int tasks = (int) Math.max(1, (rowsTotal + perTask - 1) / perTask);
    JavaSparkContext sc = JavaSparkContext.fromSparkContext(source.context());
    Broadcast<InputOrder> orderRef = sc.broadcast(order);
    Broadcast<byte[]> model = sc.broadcast(pass.capture().model().toByteArray());
    try {
      // rows for a float network travel as floats, which the network would round them to anyway
      boolean floats = pass.input().type() == ElementType.FLOAT;
      JavaPairRDD<Long, Object> placed = source.mapPartitionsToPair(it -> {
        InputOrder.Indexer indexer = new InputOrder.Indexer(orderRef.value());
        DenseRows reader = new DenseRows(selection);
        double[] scratch = new double[reader.length()];
        return new Iterator<Tuple2<Long, Object>>() {
          @Override
          public boolean hasNext() {
            return it.hasNext();
          }

          @Override
          public Tuple2<Long, Object> next() {
            InternalRow row = it.next();
            long index = indexer.next(row.getUTF8String(fileIndex).toString(),
                row.getLong(fileIndex + 1));
            reader.read(row, scratch, 0);
            if (!floats) {
              return new Tuple2<>(index, scratch.clone());
            }
            float[] values = new float[scratch.length];
            for (int k = 0; k < values.length; k++) {
              values[k] = (float) scratch[k];
            }
            return new Tuple2<>(index, values);
          }
        };
      });
      JavaPairRDD<Long, Object> sorted = placed.repartitionAndSortWithinPartitions(
          new RowRanges(tasks, perTask));
      boolean fixed = pass.input().fixedBatchSize() > 0;
      Task task = new Task(pass);
      JavaRDD<ActivationMoments> partials = sorted.mapPartitions(it -> {
        ActivationMoments moments = new ActivationMoments(task.names());
        try (NetworkSession session = task.session(model.value())) {
          double[] buffer = session.rows();
          int length = session.rowLength();
          int n = 0;
          long batch = -1;
          while (it.hasNext()) {
            Tuple2<Long, Object> row = it.next();
            long b = row._1() / minibatch;
            if (b != batch && n > 0) {
              runAndFold(session, moments, n);
              n = 0;
            }
            batch = b;
            if (row._2() instanceof float[] f) {
              for (int k = 0; k < length; k++) {
                buffer[n * length + k] = f[k];
              }
            } else {
              System.arraycopy((double[]) row._2(), 0, buffer, n * length, length);
            }
            n++;
          }
          if (n > 1 && (n == minibatch || !fixed)) {
            runAndFold(session, moments, n);
          }
        }
        FaultInjection.afterWork("network pass in minibatches");
        return Collections.singletonList(moments).iterator();
      });
      return partials.treeReduce(ActivationMoments::merge, tasks > 64 ? 3 : 2);
    } finally {
      orderRef.destroy();
      model.destroy();
    }
  }

  /** Sends row index g to task {@code g / rowsPerTask}. */
  static final class RowRanges extends Partitioner {
    private static final long serialVersionUID = 1L;
    private final int tasks;
    private final long rowsPerTask;

    RowRanges(int tasks, long rowsPerTask) {
      this.tasks = tasks;
      this.rowsPerTask = rowsPerTask;
    }

    @Override
    public int numPartitions() {
      return tasks;
    }

    @Override
    public int getPartition(Object key) {
      return (int) Math.min(tasks - 1, (Long) key / rowsPerTask);
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof RowRanges r && r.tasks == tasks && r.rowsPerTask == rowsPerTask;
    }

    @Override
    public int hashCode() {
      return Long.hashCode(rowsPerTask) * 31 + tasks;
    }
  }

  /** Runs the first n rows of the session's buffer and folds every output into the moments. */
  static void runAndFold(NetworkSession session, ActivationMoments moments, int n) {
    session.run(n);
    for (int k = 0; k < moments.size(); k++) {
      if (session.type(k) == ElementType.FLOAT) {
        moments.add(k, session.shape(k), session.floats(k), n);
      } else {
        moments.add(k, session.shape(k), session.doubles(k), n);
      }
    }
  }

  /** Fills a session's batches from internal rows and folds each run's outputs. */
  private static final class Batcher {
    private final NetworkSession session;
    private final DenseRows reader;
    private final ActivationMoments moments;
    private final double[] buffer;
    private int n;

    Batcher(NetworkSession session, FeatureSelection selection, ActivationMoments moments) {
      this.session = session;
      this.reader = new DenseRows(selection);
      this.moments = moments;
      this.buffer = session.rows();
      if (reader.length() != session.rowLength()) {
        throw new IllegalStateException("rows of " + reader.length() + " values for a network "
            + "input of " + session.rowLength());
      }
    }

    void add(InternalRow row) {
      reader.read(row, buffer, n * reader.length());
      if (++n == session.capacity()) {
        flush();
      }
    }

    void flush() {
      if (n > 0) {
        runAndFold(session, moments, n);
        n = 0;
      }
    }
  }

  /** One task's moments and input-order counts. */
  private record Partial(ActivationMoments moments, InputOrder.Counter counter)
      implements Serializable {
    Partial merge(Partial other) {
      moments.merge(other.moments);
      if (counter != null) {
        counter.merge(other.counter);
      }
      return this;
    }
  }
}
