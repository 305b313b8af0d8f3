package io.normstats.onnx;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtLoggingLevel;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import io.normstats.InputException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;

/**
 * One ONNX Runtime session that runs a network on batches of rows and hands back some of its
 * tensors: what each Spark task of a network pass holds.
 *
 * <p>The session is built for reproducible activations: one intra-op and one inter-op thread,
 * sequential execution, deterministic compute, and ONNX Runtime's graph optimizations at
 * {@code ALL_OPT}, its default (constant folding, fusions such as a BatchNormalization folded into
 * the Conv before it, and the NCHWc layouts of its CPU kernels). A tensor normstats reads back is
 * a graph output, and ONNX Runtime never fuses away a node whose output is a graph output, so
 * the captured tensors are the values the graph defines, computed as ONNX Runtime computes the
 * model it is given: the BatchNorms upstream of a captured tensor may be folded into their Conv,
 * as they are when the written model runs with ONNX Runtime's defaults. Measured on ResNet-18 at
 * 3x32x32 (2,000 rows, one thread): 1.25 s against 5.0 s with no optimization ({@code NO_OPT}),
 * {@code BASIC_OPT} and {@code EXTENDED_OPT} about 4.8 s; the layout pass is what counts. With
 * these settings a row's activations do not depend on the other rows of its batch (tested bit for
 * bit on the sample model and the model zoo for several batch sizes and partitionings); a model
 * that fixes its batch dimension is run in batches of exactly that size, the last one padded with
 * zero rows whose outputs are ignored. From the second full batch on, ONNX Runtime writes the
 * outputs in place into buffers the session keeps (pinned outputs), which saves two copies per
 * batch.
 *
 * <p>Rows go in as doubles, {@link #rowLength()} per row in {@link #rows()} (row-major into the
 * input's item shape), and are converted to the input's element type (float: rounded to nearest,
 * exact for integers up to 2^24 such as pixels). Not thread-safe: one per task.
 */
public final class NetworkSession implements AutoCloseable {
  private final String what;
  private final OrtEnvironment env;
  private final OrtSession session;
  private final NetworkInput input;
  private final long[] itemShape;
  private final int rowLength;
  private final int capacity;
  private final boolean padded;
  private final List<String> outputs;
  private final double[] rows;
  private final ByteBuffer direct;
  private final float[][] floatOut;
  private final double[][] doubleOut;
  private final long[][] shapes;
  private final ElementType[] types;
  /** Output tensors of full batches that ONNX Runtime writes in place (after the first one). */
  private OnnxTensor[] pinned;
  private ByteBuffer[] pinnedBuffers;

  /**
   * Creates the session.
   *
   * @param model the serialized ONNX model to run
   * @param what how to name the model in messages
   * @param input the input fed
   * @param itemShape one row's item shape (see {@link NetworkInput#itemShape})
   * @param outputs the tensors to read back (graph outputs of {@code model}), in order
   * @param batchSize rows per run (the model's fixed batch size overrides it)
   * @throws InputException (data) if ONNX Runtime cannot load the model; (usage) if what it
   *     computes needs another input besides {@code input}
   */
  public NetworkSession(byte[] model, String what, NetworkInput input, long[] itemShape,
      List<String> outputs, int batchSize) {
    this(model, ExternalData.Tensors.NONE, what, input, itemShape, outputs, batchSize);
  }

  /**
   * Creates the session of a model whose large tensors {@code external} holds (a model over 2 GB,
   * {@link OnnxModel#external()}); as {@link #NetworkSession(byte[], String, NetworkInput,
   * long[], List, int)} otherwise.
   */
  public NetworkSession(byte[] model, ExternalData.Tensors external, String what,
      NetworkInput input, long[] itemShape, List<String> outputs, int batchSize) {
    this.what = what;
    this.input = input;
    this.itemShape = itemShape.clone();
    long length = 1;
    for (long d : itemShape) {
      length *= d;
    }
    this.rowLength = Math.toIntExact(length);
    this.padded = input.fixedBatchSize() > 0;
    this.capacity = padded ? (int) input.fixedBatchSize() : batchSize;
    this.outputs = List.copyOf(outputs);
    this.rows = new double[Math.multiplyExact(capacity, rowLength)];
    this.direct = ByteBuffer.allocateDirect(rows.length * input.type().bytes())
        .order(ByteOrder.nativeOrder());
    this.floatOut = new float[outputs.size()][];
    this.doubleOut = new double[outputs.size()][];
    this.shapes = new long[outputs.size()][];
    this.types = new ElementType[outputs.size()];
    this.env = OrtEnvironment.getEnvironment(OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR, "normstats");
    try {
      this.session = create(env, model, external);
    } catch (OrtException e) {
      throw InputException.data(what + ": ONNX Runtime cannot load the model: "
          + firstLine(e.getMessage()), e);
    }
    java.util.Set<String> needed = new java.util.TreeSet<>(session.getInputNames());
    needed.remove(input.name());
    if (!needed.isEmpty()) {
      close();
      throw InputException.usage(what + " needs input(s) " + needed + " besides '" + input.name()
          + "'; normstats feeds the rows to one input");
    }
  }

  /**
   * A session of {@code model} with {@link #options()}, the tensors of {@code external} that its
   * graph keeps external given as ONNX Runtime's external initializers.
   *
   * @throws OrtException if ONNX Runtime cannot load the model
   */
  static OrtSession create(OrtEnvironment env, byte[] model, ExternalData.Tensors external)
      throws OrtException {
    try (OrtSession.SessionOptions options = options()) {
      if (!external.isEmpty()) {
        io.normstats.onnx.proto.OnnxProto.GraphProto graph;
        try {
          graph = io.normstats.onnx.proto.OnnxProto.ModelProto.parseFrom(model).getGraph();
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
          throw new IllegalArgumentException("not a serialized model", e);
        }
        java.util.Map<String, ai.onnxruntime.OnnxTensorLike> initializers =
            external.initializers(env, graph);
        if (!initializers.isEmpty()) {
          options.addExternalInitializers(initializers);
        }
      }
      return env.createSession(model, options);
    }
  }

  /** The session options that make activations reproducible (see the class comment). */
  static OrtSession.SessionOptions options() throws OrtException {
    OrtSession.SessionOptions options = new OrtSession.SessionOptions();
    options.setIntraOpNumThreads(1);
    options.setInterOpNumThreads(1);
    options.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
    options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
    options.setDeterministicCompute(true);
    options.setSessionLogLevel(OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR);
    return options;
  }

  /** The number of values per row. */
  public int rowLength() {
    return rowLength;
  }

  /** The most rows one {@link #run} takes: the batch size. */
  public int capacity() {
    return capacity;
  }

  /** The rows of the next run: row i at {@code i * rowLength()}, {@link #capacity()} rows. */
  public double[] rows() {
    return rows;
  }

  /**
   * Runs the network on the first {@code n} rows of {@link #rows()}. The outputs stay readable
   * ({@link #floats}, {@link #doubles}, {@link #shape}) until the next run.
   *
   * @throws IllegalArgumentException if n is not in [1, capacity]
   * @throws InputException (data) if ONNX Runtime fails to run the model, naming the model
   */
  public void run(int n) {
    if (n < 1 || n > capacity) {
      throw new IllegalArgumentException("cannot run " + n + " rows in batches of " + capacity);
    }
    int batch = padded ? capacity : n;
    int values = batch * rowLength;
    direct.clear();
    long[] shape = new long[itemShape.length + 1];
    shape[0] = batch;
    System.arraycopy(itemShape, 0, shape, 1, itemShape.length);
    OnnxTensor tensor = null;
    try {
      if (input.type() == ElementType.FLOAT) {
        FloatBuffer f = direct.asFloatBuffer();
        for (int i = 0; i < n * rowLength; i++) {
          f.put((float) rows[i]);
        }
        for (int i = n * rowLength; i < values; i++) {
          f.put(0f);
        }
        f.flip();
        tensor = OnnxTensor.createTensor(env, f, shape);
      } else if (input.type() == ElementType.DOUBLE) {
        DoubleBuffer d = direct.asDoubleBuffer();
        d.put(rows, 0, n * rowLength);
        for (int i = n * rowLength; i < values; i++) {
          d.put(0.0);
        }
        d.flip();
        tensor = OnnxTensor.createTensor(env, d, shape);
      } else { // float16, bfloat16: each value rounded once to the input's type
        for (int i = 0; i < n * rowLength; i++) {
          input.type().put(direct, rows[i]);
        }
        for (int i = n * rowLength; i < values; i++) {
          input.type().put(direct, 0);
        }
        direct.flip();
        tensor = OnnxTensor.createTensor(env, direct, shape,
            SegmentSession.javaType(input.type().onnxType()));
      }
      if (batch == capacity && pinned != null) {
        Map<String, OnnxTensor> into = new java.util.HashMap<>();
        for (int k = 0; k < outputs.size(); k++) {
          into.put(outputs.get(k), pinned[k]);
        }
        session.run(Map.of(input.name(), tensor), into).close();
        for (int k = 0; k < outputs.size(); k++) {
          readPinned(k);
        }
        return;
      }
      try (OrtSession.Result result = session.run(Map.of(input.name(), tensor),
          new LinkedHashSet<>(outputs))) {
        for (int k = 0; k < outputs.size(); k++) {
          read(k, result.get(outputs.get(k)).orElseThrow());
        }
      }
      if (batch == capacity) {
        pin();
      }
    } catch (OrtException e) {
      throw InputException.data(what + ": ONNX Runtime failed to run the model: "
          + firstLine(e.getMessage()), e);
    } finally {
      if (tensor != null) {
        tensor.close();
      }
    }
  }

  /**
   * Allocates output tensors of the last (full) batch's shapes on direct buffers, so that later
   * full batches are written there in place instead of into new tensors copied out twice.
   */
  private void pin() throws OrtException {
    for (ElementType t : types) {
      if (t != ElementType.FLOAT && t != ElementType.DOUBLE) {
        return; // float16 and bfloat16 outputs are read (widened to float) from each result
      }
    }
    OnnxTensor[] tensors = new OnnxTensor[outputs.size()];
    ByteBuffer[] buffers = new ByteBuffer[outputs.size()];
    for (int k = 0; k < outputs.size(); k++) {
      long elements = 1;
      for (long d : shapes[k]) {
        elements *= d;
      }
      buffers[k] = ByteBuffer.allocateDirect(Math.toIntExact(elements * types[k].bytes()))
          .order(ByteOrder.nativeOrder());
      tensors[k] = types[k] == ElementType.FLOAT
          ? OnnxTensor.createTensor(env, buffers[k].asFloatBuffer(), shapes[k])
          : OnnxTensor.createTensor(env, buffers[k].asDoubleBuffer(), shapes[k]);
    }
    pinned = tensors;
    pinnedBuffers = buffers;
  }

  private void readPinned(int k) {
    if (types[k] == ElementType.FLOAT) {
      FloatBuffer f = pinnedBuffers[k].asFloatBuffer();
      f.get(0, floatOut[k], 0, f.capacity());
    } else {
      DoubleBuffer d = pinnedBuffers[k].asDoubleBuffer();
      d.get(0, doubleOut[k], 0, d.capacity());
    }
  }

  private void read(int k, OnnxValue value) throws OrtException {
    if (!(value instanceof OnnxTensor t)) {
      throw InputException.usage(what + ": output '" + outputs.get(k) + "' is not a tensor");
    }
    TensorInfo info = t.getInfo();
    shapes[k] = info.getShape();
    int size = Math.toIntExact(info.getNumElements());
    switch (info.type) {
      case FLOAT, FLOAT16, BFLOAT16 -> {
        // ONNX Runtime widens float16 and bfloat16 to float, exactly
        types[k] = ElementType.of(SegmentSession.elemType(info.type));
        if (floatOut[k] == null || floatOut[k].length < size) {
          floatOut[k] = new float[size];
        }
        t.getFloatBuffer().get(floatOut[k], 0, size);
      }
      case DOUBLE -> {
        types[k] = ElementType.DOUBLE;
        if (doubleOut[k] == null || doubleOut[k].length < size) {
          doubleOut[k] = new double[size];
        }
        t.getDoubleBuffer().get(doubleOut[k], 0, size);
      }
      default -> throw InputException.usage(what + ": tensor '" + outputs.get(k) + "' holds "
          + info.type + "; normstats reads float, double, float16 or bfloat16 tensors");
    }
  }

  /** The element type of output k after a run. */
  public ElementType type(int k) {
    return types[k];
  }

  /** The shape of output k of the last run (its first dimension the batch, padding included). */
  public long[] shape(int k) {
    return shapes[k];
  }

  /**
   * Output k of the last run, if float, float16 or bfloat16 (its values, exactly): row-major, at
   * least as long as the shape says.
   */
  public float[] floats(int k) {
    return floatOut[k];
  }

  /** Output k of the last run, if double ({@link #type} is {@link ElementType#DOUBLE}). */
  public double[] doubles(int k) {
    return doubleOut[k];
  }

  @Override
  public void close() {
    if (pinned != null) {
      for (OnnxTensor t : pinned) {
        t.close();
      }
    }
    try {
      session.close();
    } catch (OrtException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String firstLine(String s) {
    if (s == null) {
      return "";
    }
    int nl = s.indexOf('\n');
    return (nl < 0 ? s : s.substring(0, nl)).strip();
  }
}
