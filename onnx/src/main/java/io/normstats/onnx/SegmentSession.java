package io.normstats.onnx;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtLoggingLevel;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import io.normstats.InputException;
import java.io.Serializable;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;

/**
 * One ONNX Runtime session that runs a segment of a network (a graph {@link OnnxModel#slice}d
 * between two cuts) on whole tensors of any element type, fed and read back as bytes: what a task
 * of a cached recalibration pass holds. The same session options as {@link NetworkSession}
 * (reproducible activations, ONNX Runtime's default optimizations). Not thread-safe.
 */
public final class SegmentSession implements AutoCloseable {
  /**
   * A value fed to a segment or read from one: an ONNX element type ({@code
   * TensorProto.DataType}), its shape (the first dimension the batch, for batched values) and its
   * data, {@link #byteCount} bytes in native order.
   */
  public interface Value {
    /** The ONNX element type. */
    int elemType();

    /** The shape. */
    long[] shape();

    /** The bytes of its data. */
    int byteCount();

    /**
     * Copies bytes {@code [from, from + length)} of its data to {@code to[at, at + length)}.
     *
     * @throws IndexOutOfBoundsException if a range is out of bounds
     */
    void get(int from, byte[] to, int at, int length);

    /** Puts its data into {@code to} at its position, which advances by {@link #byteCount}. */
    void putInto(ByteBuffer to);

    /** A copy of its data. */
    default byte[] toBytes() {
      byte[] out = new byte[byteCount()];
      get(0, out, 0, out.length);
      return out;
    }
  }

  /** A value held in an array of its own: native-order bytes of an ONNX element type and a shape. */
  public record Tensor(int elemType, long[] shape, byte[] data) implements Value, Serializable {
    @Override
    public int byteCount() {
      return data.length;
    }

    @Override
    public void get(int from, byte[] to, int at, int length) {
      System.arraycopy(data, from, to, at, length);
    }

    @Override
    public void putInto(ByteBuffer to) {
      to.put(data);
    }
  }

  /**
   * A value {@link #run} read back: its data a read-only buffer in native order (position 0,
   * limit {@link #byteCount}), either a copy of its own or ONNX Runtime's output memory for this
   * session, which the session's next run overwrites. Read it before then.
   */
  public record Output(int elemType, long[] shape, ByteBuffer data) implements Value {
    @Override
    public int byteCount() {
      return data.limit();
    }

    @Override
    public void get(int from, byte[] to, int at, int length) {
      data.get(from, to, at, length);
    }

    @Override
    public void putInto(ByteBuffer to) {
      to.put(data.duplicate().position(0));
    }

    /**
     * The values of a float, float16 or bfloat16 output, exactly, in {@code scratch} if it is
     * large enough (else in a new array): the first {@code byteCount / element size} entries.
     */
    public float[] floats(float[] scratch) {
      int n = byteCount() / ElementType.of(elemType).bytes();
      float[] out = scratch != null && scratch.length >= n ? scratch : new float[n];
      floats(elemType, data.duplicate().position(0).order(ByteOrder.nativeOrder()), out);
      return out;
    }

    /** The values of a double output, in {@code scratch} if it is large enough; as {@link #floats}. */
    public double[] doubles(double[] scratch) {
      int n = byteCount() / 8;
      double[] out = scratch != null && scratch.length >= n ? scratch : new double[n];
      data.duplicate().position(0).order(ByteOrder.nativeOrder()).asDoubleBuffer().get(out, 0, n);
      return out;
    }

    /** The float values of {@code b} (from its position to its limit) into {@code out}. */
    static void floats(int elemType, ByteBuffer b, float[] out) {
      ElementType type = ElementType.of(elemType);
      if (type == ElementType.FLOAT16 || type == ElementType.BFLOAT16) {
        int n = b.remaining() / 2;
        for (int i = 0; i < n; i++) {
          out[i] = (float) type.get(b);
        }
      } else {
        FloatBuffer f = b.asFloatBuffer();
        f.get(out, 0, f.remaining());
      }
    }
  }

  private final String what;
  private final OrtEnvironment env;
  private final OrtSession session;
  private final List<String> inputs;
  private final List<String> outputs;
  private final ByteBuffer[] buffers;
  /** For each output, the index of its first occurrence in {@link #outputs}. */
  private final int[] first;
  /** The input layouts run once (their element types and shapes). */
  private final java.util.Set<String> seen = new java.util.HashSet<>();
  /** The pinned outputs of the layouts run more than once, up to {@link #MAX_PINNED}. */
  private final Map<String, Pinned> pinned = new HashMap<>();

  /**
   * Creates the session.
   *
   * @param model the serialized segment
   * @param what how to name the model in messages
   * @param inputs the segment's inputs, in the order {@link #run} takes them
   * @param outputs the outputs to read back, in order
   * @throws InputException (data) if ONNX Runtime cannot load the segment
   */
  public SegmentSession(byte[] model, String what, List<String> inputs, List<String> outputs) {
    this(model, ExternalData.Tensors.NONE, what, inputs, outputs);
  }

  /**
   * Creates the session of a segment whose large tensors {@code external} holds (a model over
   * 2 GB, {@link OnnxModel#external()}); as {@link #SegmentSession(byte[], String, List, List)}
   * otherwise.
   */
  public SegmentSession(byte[] model, ExternalData.Tensors external, String what,
      List<String> inputs, List<String> outputs) {
    this.what = what;
    this.inputs = List.copyOf(inputs);
    this.outputs = List.copyOf(outputs);
    this.first = new int[outputs.size()];
    for (int k = 0; k < first.length; k++) {
      first[k] = this.outputs.indexOf(this.outputs.get(k));
    }
    this.buffers = new ByteBuffer[inputs.size()];
    this.env = OrtEnvironment.getEnvironment(OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR, "normstats");
    try {
      this.session = NetworkSession.create(env, model, external);
    } catch (OrtException e) {
      throw InputException.data(what + ": ONNX Runtime cannot load a segment of the model: "
          + e.getMessage().lines().findFirst().orElse(""), e);
    }
  }

  /**
   * Runs the segment.
   *
   * <p>A layout of the inputs (their shapes) seen for the second time runs into output memory the
   * session keeps for it (ONNX Runtime's pinned outputs, direct buffers), so that the outputs of
   * the batches after the first of that size are neither allocated nor copied; the outputs are
   * then views of that memory, valid until the next run. The values are the same bits either way:
   * ONNX Runtime runs the same kernels and only writes the graph's outputs elsewhere.
   *
   * @param values the inputs' values, in the order of the constructor's {@code inputs}; read
   *     before this returns
   * @return the outputs, in order; an output named twice (a BatchNorm's input that is both
   *     captured and cut) is the same output twice, copied out of ONNX Runtime at most once
   * @throws InputException (data) if ONNX Runtime fails to run it
   */
  public List<Output> run(List<? extends Value> values) {
    Map<String, OnnxTensor> feed = new HashMap<>();
    try {
      StringBuilder layout = new StringBuilder();
      for (int i = 0; i < inputs.size(); i++) {
        Value t = values.get(i);
        layout.append(t.elemType()).append(java.util.Arrays.toString(t.shape()));
        if (buffers[i] == null || buffers[i].capacity() < t.byteCount()) {
          // kept from run to run: a direct buffer per input, grown to the largest batch
          buffers[i] = ByteBuffer.allocateDirect(t.byteCount()).order(ByteOrder.nativeOrder());
        }
        ByteBuffer direct = buffers[i];
        direct.clear();
        t.putInto(direct);
        direct.flip();
        feed.put(inputs.get(i), OnnxTensor.createTensor(env, direct, t.shape(),
            javaType(t.elemType())));
      }
      String key = layout.toString();
      Pinned p = pinned.get(key);
      if (p != null) {
        session.run(feed, p.tensors()).close(); // pinned outputs are not the result's to close
        return p.outputs();
      }
      List<Output> out = new ArrayList<>(outputs.size());
      try (OrtSession.Result result = session.run(feed, new LinkedHashSet<>(outputs))) {
        for (int k = 0; k < first.length; k++) {
          if (first[k] < k) { // named before: the same tensor
            out.add(out.get(first[k]));
            continue;
          }
          String name = outputs.get(k);
          OnnxValue v = result.get(name).orElseThrow();
          if (!(v instanceof OnnxTensor t)) {
            throw InputException.usage(what + ": value '" + name + "' is not a tensor");
          }
          TensorInfo info = t.getInfo();
          // ONNX Runtime's copy (getByteBuffer: a heap buffer in native order), not copied again
          out.add(new Output(elemType(info.type), info.getShape(),
              t.getByteBuffer().asReadOnlyBuffer().order(ByteOrder.nativeOrder())));
        }
      }
      if (!seen.add(key) && pinned.size() < MAX_PINNED) {
        pinned.put(key, pin(out));
      }
      return out;
    } catch (OrtException e) {
      throw InputException.data(what + ": ONNX Runtime failed to run a segment of the model: "
          + e.getMessage().lines().findFirst().orElse(""), e);
    } finally {
      feed.values().forEach(OnnxTensor::close);
    }
  }

  /** The most input layouts a session keeps pinned outputs for (a batch size and the last). */
  private static final int MAX_PINNED = 2;

  /**
   * Output memory for a layout of the inputs, shaped as {@code out} (a run of that layout): one
   * direct buffer and tensor over it per distinct output, and the outputs as views of them.
   */
  private Pinned pin(List<Output> out) throws OrtException {
    Map<String, OnnxTensor> tensors = new java.util.LinkedHashMap<>();
    List<Output> views = new ArrayList<>(out.size());
    for (int k = 0; k < first.length; k++) {
      if (first[k] < k) {
        views.add(views.get(first[k]));
        continue;
      }
      Output o = out.get(k);
      ByteBuffer direct = ByteBuffer.allocateDirect(o.byteCount()).order(ByteOrder.nativeOrder());
      tensors.put(outputs.get(k), OnnxTensor.createTensor(env, direct, o.shape(),
          javaType(o.elemType())));
      views.add(new Output(o.elemType(), o.shape(),
          direct.asReadOnlyBuffer().order(ByteOrder.nativeOrder())));
    }
    return new Pinned(tensors, java.util.Collections.unmodifiableList(views));
  }

  /** Pinned output tensors and the outputs that view them. */
  private record Pinned(Map<String, OnnxTensor> tensors, List<Output> outputs) {}

  static int elemType(OnnxJavaType type) {
    return switch (type) {
      case FLOAT -> 1;
      case UINT8 -> 2;
      case INT8 -> 3;
      case INT16 -> 5;
      case INT32 -> 6;
      case INT64 -> 7;
      case BOOL -> 9;
      case FLOAT16 -> 10;
      case DOUBLE -> 11;
      case BFLOAT16 -> 16;
      default -> throw new IllegalArgumentException("a tensor of " + type + " cannot cross a cut");
    };
  }

  static OnnxJavaType javaType(int elemType) {
    return switch (elemType) {
      case 1 -> OnnxJavaType.FLOAT;
      case 2 -> OnnxJavaType.UINT8;
      case 3 -> OnnxJavaType.INT8;
      case 5 -> OnnxJavaType.INT16;
      case 6 -> OnnxJavaType.INT32;
      case 7 -> OnnxJavaType.INT64;
      case 9 -> OnnxJavaType.BOOL;
      case 10 -> OnnxJavaType.FLOAT16;
      case 11 -> OnnxJavaType.DOUBLE;
      case 16 -> OnnxJavaType.BFLOAT16;
      default -> throw new IllegalArgumentException("ONNX Runtime's Java API has no tensors of "
          + ElementType.name(elemType));
    };
  }

  @Override
  public void close() {
    try {
      pinned.values().forEach(p -> p.tensors().values().forEach(OnnxTensor::close));
      pinned.clear();
      session.close();
    } catch (OrtException e) {
      throw new IllegalStateException(e);
    }
  }
}
