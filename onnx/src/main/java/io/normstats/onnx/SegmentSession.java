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
   * A tensor as bytes in native order: an ONNX element type ({@code TensorProto.DataType}), its
   * shape (the first dimension the batch, for batched values) and its data.
   */
  public record Tensor(int elemType, long[] shape, byte[] data) implements Serializable {
    /** The values of a float, float16 or bfloat16 tensor, exactly. */
    public float[] floats() {
      ElementType type = ElementType.of(elemType);
      if (type == ElementType.FLOAT16 || type == ElementType.BFLOAT16) {
        ByteBuffer b = ByteBuffer.wrap(data).order(ByteOrder.nativeOrder());
        float[] out = new float[data.length / 2];
        for (int i = 0; i < out.length; i++) {
          out[i] = (float) type.get(b);
        }
        return out;
      }
      float[] out = new float[data.length / 4];
      ByteBuffer.wrap(data).order(ByteOrder.nativeOrder()).asFloatBuffer().get(out);
      return out;
    }

    /** The values of a double tensor. */
    public double[] doubles() {
      double[] out = new double[data.length / 8];
      ByteBuffer.wrap(data).order(ByteOrder.nativeOrder()).asDoubleBuffer().get(out);
      return out;
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
   * @param values the inputs' tensors, in the order of the constructor's {@code inputs}
   * @return the outputs' tensors, in order; an output named twice (a BatchNorm's input that is
   *     both captured and cut) is the same tensor twice, copied out of ONNX Runtime once, so its
   *     data must be read, not changed
   * @throws InputException (data) if ONNX Runtime fails to run it
   */
  public List<Tensor> run(List<Tensor> values) {
    Map<String, OnnxTensor> feed = new HashMap<>();
    try {
      for (int i = 0; i < inputs.size(); i++) {
        Tensor t = values.get(i);
        if (buffers[i] == null || buffers[i].capacity() < t.data().length) {
          // kept from run to run: a direct buffer per input, grown to the largest batch
          buffers[i] = ByteBuffer.allocateDirect(t.data().length).order(ByteOrder.nativeOrder());
        }
        ByteBuffer direct = buffers[i];
        direct.clear();
        direct.put(t.data()).flip();
        feed.put(inputs.get(i), OnnxTensor.createTensor(env, direct, t.shape(),
            javaType(t.elemType())));
      }
      List<Tensor> out = new ArrayList<>(outputs.size());
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
          out.add(new Tensor(elemType(info.type), info.getShape(), bytes(t)));
        }
      }
      return out;
    } catch (OrtException e) {
      throw InputException.data(what + ": ONNX Runtime failed to run a segment of the model: "
          + e.getMessage().lines().findFirst().orElse(""), e);
    } finally {
      feed.values().forEach(OnnxTensor::close);
    }
  }

  /**
   * The bytes of {@code t}'s values: ONNX Runtime's copy of them ({@code getByteBuffer}, a heap
   * buffer in native order), taken as they are rather than copied again.
   */
  private static byte[] bytes(OnnxTensor t) {
    ByteBuffer bytes = t.getByteBuffer();
    if (bytes.hasArray() && bytes.arrayOffset() == 0 && bytes.position() == 0
        && bytes.remaining() == bytes.array().length) {
      return bytes.array();
    }
    byte[] data = new byte[bytes.remaining()];
    bytes.get(data);
    return data;
  }

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
      session.close();
    } catch (OrtException e) {
      throw new IllegalStateException(e);
    }
  }
}
