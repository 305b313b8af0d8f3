package io.normstats.onnx.spark;

import com.esotericsoftware.kryo.DefaultSerializer;
import com.esotericsoftware.kryo.serializers.JavaSerializer;
import io.normstats.spark.DenseRows;
import io.normstats.spark.TaskHook;
import io.normstats.spark.FeatureSelection;
import io.normstats.spark.InputOrder;
import io.normstats.InputException;
import io.normstats.onnx.ActivationMoments;
import io.normstats.onnx.ElementType;
import io.normstats.onnx.ExternalData;
import io.normstats.onnx.NetworkInput;
import io.normstats.onnx.NetworkSession;
import io.normstats.onnx.OnnxModel;
import io.normstats.onnx.SegmentSession;
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
   * @param external the model's external data ({@link ShippedExternalData}), or null
   *     for a model under 2 GB
   */
  public record Pass(String what, OnnxModel.Capture capture, String[] names, NetworkInput input,
      long[] itemShape, int batchSize, ShippedExternalData external) {
    /** The pass of a model under 2 GB. */
    public Pass(String what, OnnxModel.Capture capture, String[] names, NetworkInput input,
        long[] itemShape, int batchSize) {
      this(what, capture, names, input, itemShape, batchSize, null);
    }
  }

  /** What each task of a pass needs besides the broadcast model. */
  private record Task(String what, List<String> outputs, String[] names, NetworkInput input,
      long[] itemShape, int batchSize, ShippedExternalData external)
      implements Serializable {
    Task(Pass pass) {
      this(pass.what(), pass.capture().outputs(), pass.names(), pass.input(), pass.itemShape(),
          pass.batchSize(), pass.external());
    }

    NetworkSession session(byte[] model) {
      return new NetworkSession(model, ShippedExternalData.tensors(external), what, input,
          itemShape, outputs, batchSize);
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
        TaskHook.afterWork("network pass");
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
      // rows for a float (float16, bfloat16) network travel as floats holding the values the
      // network takes: each value rounded once, to the input's type
      ElementType inputType = pass.input().type();
      boolean floats = inputType != ElementType.DOUBLE;
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
              values[k] = (float) inputType.nearest(scratch[k]);
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
        TaskHook.afterWork("network pass in minibatches");
        return Collections.singletonList(moments).iterator();
      });
      return partials.treeReduce(ActivationMoments::merge, tasks > 64 ? 3 : 2);
    } finally {
      orderRef.destroy();
      model.destroy();
    }
  }

  /**
   * One batch of rows as the values that cross a cut (the activation cache): a task of the next
   * pass runs the network's next segment on it. Its values may be views a session overwrites on
   * its next run ({@link SegmentSession.Output}), so a block is read where it is made.
   */
  public record Block(int rows, SegmentSession.Value[] tensors) {}

  /**
   * A slice of a {@link Block} as Spark stores it: at most {@value #CHUNK_BYTES} bytes of the
   * block's tensor data, the first slice with the block's layout. Small records, because Spark's
   * Java serializer keeps every object it wrote in the last 100 records alive
   * ({@code spark.serializer.objectStreamReset}): 100 batches of cut values held an executor of 512
   * MB past its heap.
   *
   * @param rows the block's rows (first slice), else 0
   * @param types the tensors' element types (first slice), else null
   * @param shapes the tensors' shapes (first slice), else null
   * @param last whether this slice ends the block
   * @param data this slice's bytes of the tensors' data, one tensor after the other
   */
  @DefaultSerializer(JavaSerializer.class) // Spark's Kryo cannot serialize records
  record Chunk(int rows, int[] types, long[][] shapes, boolean last, byte[] data)
      implements Serializable {}

  /** The most bytes of tensor data in one stored record. */
  static final int CHUNK_BYTES = 256 << 10;

  /**
   * A block as the slices Spark stores: each tensor's data cut into slices of at most
   * {@value #CHUNK_BYTES} bytes (a slice never spans two tensors), copied once.
   */
  static List<Chunk> chunks(Block b) {
    SegmentSession.Value[] tensors = b.tensors();
    int[] types = new int[tensors.length];
    long[][] shapes = new long[tensors.length][];
    for (int k = 0; k < tensors.length; k++) {
      types[k] = tensors[k].elemType();
      shapes[k] = tensors[k].shape();
    }
    List<Chunk> out = new java.util.ArrayList<>();
    for (SegmentSession.Value t : tensors) {
      int length = t.byteCount();
      for (int from = 0; from < length; from += CHUNK_BYTES) {
        boolean first = out.isEmpty();
        byte[] slice = new byte[Math.min(length - from, CHUNK_BYTES)];
        t.get(from, slice, 0, slice.length);
        out.add(new Chunk(first ? b.rows() : 0, first ? types : null, first ? shapes : null,
            false, slice));
      }
    }
    Chunk end = out.isEmpty() ? new Chunk(b.rows(), types, shapes, true, new byte[0])
        : out.remove(out.size() - 1);
    out.add(new Chunk(end.rows(), end.types(), end.shapes(), true, end.data()));
    return out;
  }

  /**
   * The blocks of consecutive slices, as {@link #chunks} cut them: each value the slices it spans,
   * not copied (ONNX Runtime's input buffer is their one copy).
   */
  static Iterator<Block> blocks(Iterator<Chunk> chunks) {
    return new Iterator<>() {
      @Override
      public boolean hasNext() {
        return chunks.hasNext();
      }

      @Override
      public Block next() {
        Chunk first = chunks.next();
        SegmentSession.Value[] tensors = new SegmentSession.Value[first.types().length];
        Chunk c = first;
        int taken = 0; // bytes of c already taken
        for (int k = 0; k < tensors.length; k++) {
          long n = ExternalData.elementBytes(first.types()[k]);
          for (long d : first.shapes()[k]) {
            n *= d;
          }
          int length = Math.toIntExact(n);
          List<byte[]> slices = new java.util.ArrayList<>();
          List<int[]> ranges = new java.util.ArrayList<>(); // {from, length} in each slice
          int at = 0;
          while (at < length) {
            if (taken == c.data().length) {
              c = chunks.next();
              taken = 0;
            }
            int m = Math.min(length - at, c.data().length - taken);
            slices.add(c.data());
            ranges.add(new int[] {taken, m});
            at += m;
            taken += m;
          }
          tensors[k] = new StoredValue(first.types()[k], first.shapes()[k], length, slices, ranges);
        }
        if (!c.last() || taken != c.data().length) {
          throw new IllegalStateException("a stored block's slices do not match its layout");
        }
        return new Block(first.rows(), tensors);
      }
    };
  }

  /** A value of a stored block: ranges of the stored slices, in order. */
  private record StoredValue(int elemType, long[] shape, int byteCount, List<byte[]> slices,
      List<int[]> ranges) implements SegmentSession.Value {
    @Override
    public void get(int from, byte[] to, int at, int length) {
      java.util.Objects.checkFromIndexSize(from, length, byteCount);
      int offset = 0; // of slice i in the value
      for (int i = 0; i < slices.size() && length > 0; i++) {
        int[] r = ranges.get(i);
        if (from < offset + r[1]) {
          int skip = Math.max(0, from - offset);
          int m = Math.min(length, r[1] - skip);
          System.arraycopy(slices.get(i), r[0] + skip, to, at, m);
          at += m;
          from += m;
          length -= m;
        }
        offset += r[1];
      }
    }

    @Override
    public void putInto(java.nio.ByteBuffer to) {
      for (int i = 0; i < slices.size(); i++) {
        to.put(slices.get(i), ranges.get(i)[0], ranges.get(i)[1]);
      }
    }
  }

  /**
   * A pass of the activation cache: the graph segment from the previous cut (or the input) to
   * this level's captured BatchNorm inputs and the next cut.
   *
   * @param what the model's name for messages
   * @param segment the serialized segment
   * @param inputs its inputs: the previous cut's values, or the model's data input
   * @param outputs its outputs: first the {@code names.length} captured tensors, then the cut
   * @param names what each captured tensor is, for messages
   * @param input the model's data input (for the first pass, which reads rows)
   * @param itemShape one row's item shape (first pass)
   * @param batchSize rows per run (first pass; later passes run the blocks as they are)
   * @param external the model's external data ({@link ShippedExternalData}), or null
   *     for a model under 2 GB
   */
  public record CutPass(String what, byte[] segment, List<String> inputs, List<String> outputs,
      String[] names, NetworkInput input, long[] itemShape, int batchSize,
      ShippedExternalData external) implements Serializable {
    /**
     * This pass as its tasks carry it: without the segment's bytes, which reach them broadcast
     * (a task's closure would carry them once more, to every task).
     */
    CutPass forTasks() {
      return new CutPass(what, null, inputs, outputs, names, input, itemShape, batchSize,
          external);
    }
  }

  /**
   * What a cached pass leaves: the moments of its captured tensors, the input order (when
   * counted), the element types of the cut's values, the bytes of those values that Spark
   * persisted on the executors' local disks (0 when none), the rows each task ran (one count per
   * partition, in no particular order), and the persisted blocks of the cut (null when it cuts
   * nothing), which the caller unpersists once the next pass has read them.
   */
  public record Cut(ActivationMoments moments, InputOrder order, int[] types, long bytes,
      long[] partitionRows, JavaRDD<Block> blocks, JavaRDD<Chunk> state) {
    /**
     * This cut with its cached blocks freed and gone (no bytes on disk), for a next pass that
     * recomputes it.
     */
    public Cut uncached() {
      release();
      return new Cut(moments, order, types, 0, partitionRows, null, null);
    }

    /** Frees the cached blocks. */
    public void release() {
      if (state != null) {
        state.unpersist(false);
      }
    }
  }

  /**
   * One task's moments, input-order counts, the cut's element types, its bytes of values and its
   * rows (merged: the rows of each task). It reaches the driver through a {@link Summaries}
   * accumulator, not in the pass's output, which Spark persists: after persisting a partition,
   * Spark reads the stored block back to hand the action its values, and finding a summary at
   * the end of the cut's values read (and deserialized) the whole cut once more each pass.
   */
  private record CutSummary(ActivationMoments moments, InputOrder.Counter counter, int[] types,
      long bytes, long[] partitionRows) implements Serializable {
    CutSummary merge(CutSummary other) {
      moments.merge(other.moments);
      if (counter != null) {
        counter.merge(other.counter);
      }
      long[] rows = java.util.Arrays.copyOf(partitionRows,
          partitionRows.length + other.partitionRows.length);
      System.arraycopy(other.partitionRows, 0, rows, partitionRows.length,
          other.partitionRows.length);
      return new CutSummary(moments, counter, types != null ? types : other.types,
          bytes + other.bytes, rows);
    }
  }

  /**
   * The first cached pass: rows (as {@link #capture} reads them) through the segment from the
   * input, with the cut's values persisted (serialized, {@code DISK_ONLY}: Spark would read a
   * spilled {@code MEMORY_AND_DISK} partition back into one heap buffer) in blocks of one batch.
   *
   * @param fileIndex as {@link #capture}
   */
  public static Cut firstCut(JavaRDD<InternalRow> rows, FeatureSelection selection, CutPass pass,
      int fileIndex, boolean persist) {
    return chainedCut(rows, selection, List.of(), pass, fileIndex, persist);
  }

  /**
   * A pass whose previous cut is not cached: rows (as {@link #capture} reads them) through the
   * segments of the passes before, one after the other, then through this pass's segment. The
   * same segments, so the same bits, as {@link #nextCut} on the cached blocks.
   *
   * @param chain the earlier passes, first to last
   * @param persist whether to persist this pass's cut for the next pass
   */
  public static Cut recomputedCut(JavaRDD<InternalRow> rows, FeatureSelection selection,
      List<CutPass> chain, CutPass pass, boolean persist) {
    return chainedCut(rows, selection, chain, pass, -1, persist);
  }

  private static Cut chainedCut(JavaRDD<InternalRow> rows, FeatureSelection selection,
      List<CutPass> chain, CutPass pass, int fileIndex, boolean persist) {
    JavaSparkContext sc = JavaSparkContext.fromSparkContext(rows.context());
    Broadcast<byte[]> model = sc.broadcast(pass.segment());
    List<Broadcast<byte[]>> before = new java.util.ArrayList<>();
    for (CutPass c : chain) {
      before.add(sc.broadcast(c.segment()));
    }
    List<CutPass> chained = chain.stream().map(CutPass::forTasks).toList();
    CutPass task = pass.forTasks();
    CutPass head = chained.isEmpty() ? task : chained.get(0);
    Summaries summaries = new Summaries();
    sc.sc().register(summaries); // unnamed: Spark's UI and listeners do not see it
    JavaRDD<Chunk> state = rows.mapPartitions(it -> {
      DenseRows reader = new DenseRows(selection);
      int length = reader.length();
      int capacity = head.batchSize();
      double[] buffer = new double[Math.multiplyExact(capacity, length)];
      InputOrder.Counter counter = fileIndex >= 0 ? new InputOrder.Counter() : null;
      List<SegmentSession> sessions = new java.util.ArrayList<>();
      for (int j = 0; j < chained.size(); j++) {
        sessions.add(new SegmentSession(before.get(j).value(),
            ShippedExternalData.tensors(chained.get(j).external()), chained.get(j).what(),
            chained.get(j).inputs(), chained.get(j).outputs()));
      }
      return new CutIterator(task, model.value(), counter, summaries, persist) {
        @Override
        Block nextBatch() {
          int n = 0;
          while (n < capacity && it.hasNext()) {
            InternalRow row = it.next();
            if (counter != null) {
              counter.add(row.getUTF8String(fileIndex).toString(), row.getLong(fileIndex + 1));
            }
            reader.read(row, buffer, n * length);
            n++;
          }
          if (n == 0) {
            sessions.forEach(SegmentSession::close);
            return null;
          }
          List<? extends SegmentSession.Value> values = List.of(
              rowsTensor(head.input(), head.itemShape(), buffer, n));
          for (int j = 0; j < sessions.size(); j++) {
            List<SegmentSession.Output> out = sessions.get(j).run(values);
            values = out.subList(chained.get(j).names().length, out.size());
          }
          return new Block(n, values.toArray(new SegmentSession.Value[0]));
        }
      };
    });
    return finish(state, summaries, pass, persist);
  }

  /**
   * A later cached pass: the previous cut's blocks through the next segment.
   *
   * @param previous a cut with its blocks persisted
   * @param persist whether to persist this pass's cut for the next pass
   */
  public static Cut nextCut(Cut previous, CutPass pass, boolean persist) {
    JavaSparkContext sc = JavaSparkContext.fromSparkContext(previous.blocks().context());
    Broadcast<byte[]> model = sc.broadcast(pass.segment());
    CutPass task = pass.forTasks();
    Summaries summaries = new Summaries();
    sc.sc().register(summaries); // unnamed: Spark's UI and listeners do not see it
    JavaRDD<Chunk> state = previous.blocks().mapPartitions(it ->
        new CutIterator(task, model.value(), null, summaries, persist) {
          @Override
          Block nextBatch() {
            return it.hasNext() ? it.next() : null;
          }
        });
    return finish(state, summaries, pass, persist);
  }

  /**
   * The bytes one row takes of each of {@code tensors}, measured on the driver: one row of zeros
   * of {@code itemShape} through the graph pruned to them ({@link OnnxModel#capturing}). A value
   * that does not grow with the rows (an exporter's batch-size scalar) counts whole.
   *
   * @param tensors value names of the graph
   * @return the bytes per row of each tensor, in order
   * @throws InputException (data) if ONNX Runtime cannot run the graph on that row
   */
  public static long[] bytesPerRow(OnnxModel model, NetworkInput input, long[] itemShape,
      List<String> tensors) {
    OnnxModel.Capture capture = model.capturing(tensors);
    int length = 1;
    for (long d : itemShape) {
      length = Math.multiplyExact(length, (int) d);
    }
    try (SegmentSession session = new SegmentSession(capture.model().toByteArray(),
        model.external(), model.what(), List.of(input.name()), capture.outputs())) {
      List<SegmentSession.Output> out = session.run(List.of(
          rowsTensor(input, itemShape, new double[length], 1)));
      long[] bytes = new long[out.size()];
      for (int k = 0; k < bytes.length; k++) {
        bytes[k] = out.get(k).byteCount();
      }
      return bytes;
    }
  }

  /**
   * One task of a cached pass, lazily: each batch through the segment, its captured tensors
   * folded into the task's moments and its cut values handed on as the {@link Chunk}s of a
   * {@link Block} (so that Spark's block store serializes them as they come); at the end, the
   * task's {@link CutSummary} goes to the pass's {@link Summaries}.
   */
  private abstract static class CutIterator implements Iterator<Chunk> {
    private final CutPass pass;
    private final SegmentSession session;
    private final ActivationMoments moments;
    private final InputOrder.Counter counter;
    private final int captured;
    private final int[] types;
    private final boolean cuts;
    private final boolean keep;
    private final java.util.ArrayDeque<Chunk> pending = new java.util.ArrayDeque<>();
    private final Summaries summaries;
    /** The captured values' floats or doubles, reused from batch to batch. */
    private final Scratch scratch = new Scratch();
    private boolean done;
    private boolean ran;
    private long bytes;
    private long rows;

    /**
     * @param keep whether to hand on the cut's values (as chunks, to be persisted); without,
     *     only their types and bytes are taken
     */
    CutIterator(CutPass pass, byte[] model, InputOrder.Counter counter, Summaries summaries,
        boolean keep) {
      this.pass = pass;
      this.keep = keep;
      this.summaries = summaries;
      this.session = new SegmentSession(model, ShippedExternalData.tensors(pass.external()),
          pass.what(), pass.inputs(), pass.outputs());
      this.moments = new ActivationMoments(pass.names());
      this.counter = counter;
      this.captured = pass.names().length;
      this.types = new int[pass.outputs().size() - captured];
      this.cuts = types.length > 0;
    }

    /** The next batch of inputs, or null at the end. */
    abstract Block nextBatch();

    @Override
    public boolean hasNext() {
      while (pending.isEmpty() && !done) {
        Block batch = nextBatch();
        if (batch == null) {
          session.close();
          TaskHook.afterWork("network pass");
          // a task without rows knows no element types (an empty partition)
          summaries.add(new CutSummary(moments, counter, cuts && ran ? types : null, bytes,
              new long[] {rows}));
          done = true;
          break;
        }
        List<SegmentSession.Output> result = session.run(List.of(batch.tensors()));
        ran = true;
        rows += batch.rows();
        fold(moments, result, captured, batch.rows(), scratch);
        if (cuts) {
          SegmentSession.Value[] cut = result.subList(captured, result.size())
              .toArray(new SegmentSession.Value[0]);
          for (int k = 0; k < cut.length; k++) {
            types[k] = cut[k].elemType();
            bytes += cut[k].byteCount();
          }
          if (keep) {
            pending.addAll(chunks(new Block(batch.rows(), cut)));
          }
        }
      }
      return !pending.isEmpty();
    }

    @Override
    public Chunk next() {
      if (!hasNext()) {
        throw new java.util.NoSuchElementException();
      }
      return pending.poll();
    }
  }

  private static Cut finish(JavaRDD<Chunk> state, Summaries summaries, CutPass pass,
      boolean persist) {
    boolean cuts = persist && pass.outputs().size() > pass.names().length;
    if (cuts) {
      state.persist(org.apache.spark.storage.StorageLevel.DISK_ONLY());
      // Spark computes and stores each partition whole; the values it then hands back from the
      // stored block are left unread
      state.foreachPartition(it -> { });
    } else {
      state.foreachPartition(it -> it.forEachRemaining(c -> { })); // runs the tasks; no chunks
    }
    CutSummary total = summaries.value() != null ? summaries.value()
        : new CutSummary(new ActivationMoments(pass.names()), new InputOrder.Counter(), null, 0,
            new long[0]);
    JavaRDD<Block> blocks = cuts ? state.mapPartitions(NetworkPasses::blocks) : null;
    return new Cut(total.moments(), total.counter() == null ? null
        : InputOrder.of(total.counter().counts()), total.types(), cuts ? total.bytes() : 0,
        total.partitionRows(), blocks, cuts ? state : null);
  }

  /**
   * The {@link CutSummary} of a pass's tasks, merged on the driver. Spark applies the update of
   * each partition's successful task once (the pass's action is its result stage), so a retried
   * task counts once.
   */
  static final class Summaries
      extends org.apache.spark.util.AccumulatorV2<CutSummary, CutSummary> {
    private static final long serialVersionUID = 1L;
    private CutSummary value;

    @Override
    public boolean isZero() {
      return value == null;
    }

    /** A fresh accumulator for the tasks (as Spark's {@code CollectionAccumulator}): no copy. */
    @Override
    public Summaries copyAndReset() {
      return new Summaries();
    }

    /** A copy of its own (merging mutates the summary's moments): a serialized round trip. */
    @Override
    public Summaries copy() {
      Summaries c = new Summaries();
      if (value != null) {
        try {
          java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
          try (java.io.ObjectOutputStream out = new java.io.ObjectOutputStream(bytes)) {
            out.writeObject(value);
          }
          try (java.io.ObjectInputStream in = new java.io.ObjectInputStream(
              new java.io.ByteArrayInputStream(bytes.toByteArray()))) {
            c.value = (CutSummary) in.readObject();
          }
        } catch (java.io.IOException | ClassNotFoundException e) {
          throw new IllegalStateException("cannot copy the summaries", e);
        }
      }
      return c;
    }

    @Override
    public void reset() {
      value = null;
    }

    @Override
    public void add(CutSummary v) {
      value = value == null ? v : value.merge(v);
    }

    @Override
    public void merge(org.apache.spark.util.AccumulatorV2<CutSummary, CutSummary> other) {
      if (other.value() != null) {
        add(other.value());
      }
    }

    @Override
    public CutSummary value() {
      return value;
    }
  }

  /** Arrays a task reuses to fold its batches' captured values. */
  private static final class Scratch {
    float[] floats;
    double[] doubles;
  }

  /**
   * Folds the first {@code captured} outputs of a run of {@code n} rows into the moments, through
   * {@code scratch}'s arrays.
   */
  private static void fold(ActivationMoments moments, List<SegmentSession.Output> result,
      int captured, int n, Scratch scratch) {
    for (int k = 0; k < captured; k++) {
      SegmentSession.Output t = result.get(k);
      ElementType type = ElementType.of(t.elemType());
      if (type == ElementType.DOUBLE) {
        scratch.doubles = t.doubles(scratch.doubles);
        moments.add(k, t.shape(), scratch.doubles, n);
      } else if (type != null) { // float, float16 and bfloat16 values are floats, exactly
        scratch.floats = t.floats(scratch.floats);
        moments.add(k, t.shape(), scratch.floats, n);
      } else {
        throw InputException.usage("a captured tensor holds " + ElementType.name(t.elemType())
            + "; normstats reads float, double, float16 or bfloat16 tensors");
      }
    }
  }

  /** The first {@code n} rows of {@code buffer} as the model input's tensor. */
  private static SegmentSession.Tensor rowsTensor(NetworkInput input, long[] itemShape,
      double[] buffer, int n) {
    int length = 1;
    for (long d : itemShape) {
      length *= (int) d;
    }
    long[] shape = new long[itemShape.length + 1];
    shape[0] = n;
    System.arraycopy(itemShape, 0, shape, 1, itemShape.length);
    java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(n * length * input.type().bytes())
        .order(java.nio.ByteOrder.nativeOrder());
    for (int i = 0; i < n * length; i++) {
      input.type().put(b, buffer[i]);
    }
    return new SegmentSession.Tensor(input.type().onnxType(), shape, b.array());
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
      if (session.type(k) == ElementType.DOUBLE) {
        moments.add(k, session.shape(k), session.doubles(k), n);
      } else {
        moments.add(k, session.shape(k), session.floats(k), n);
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
  @DefaultSerializer(JavaSerializer.class) // Spark's Kryo cannot serialize records
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
