package io.normstats.onnx;

import com.google.protobuf.ByteString;
import io.normstats.InputException;
import io.normstats.onnx.proto.OnnxProto.TensorProto;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

/**
 * Reading and writing the float, double, float16 and bfloat16 tensors (TensorProto) that the graph
 * edits of this package read and write: BatchNorm parameters, folded weights, inserted constants.
 */
final class Tensors {
  private Tensors() {}

  /**
   * The values of a float, double, float16 or bfloat16 TensorProto (raw_data, or
   * float_data/double_data, or int32_data holding the 16-bit patterns as ONNX stores them).
   */
  static double[] values(TensorProto t) {
    ElementType type = ElementType.of(t.getDataType());
    long n = 1;
    for (long d : t.getDimsList()) {
      n *= d;
    }
    double[] out = new double[(int) n];
    if (!t.getRawData().isEmpty()) {
      ByteBuffer buf = t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
      if (buf.remaining() != n * type.bytes()) {
        throw InputException.data("initializer '" + t.getName() + "' holds "
            + buf.remaining() + " bytes for " + n + " values");
      }
      for (int i = 0; i < n; i++) {
        out[i] = type.get(buf);
      }
      return out;
    }
    int count = switch (type) {
      case FLOAT -> t.getFloatDataCount();
      case DOUBLE -> t.getDoubleDataCount();
      case FLOAT16, BFLOAT16 -> t.getInt32DataCount();
    };
    if (count != n) {
      throw InputException.data("initializer '" + t.getName() + "' holds " + count
          + " values for its shape " + t.getDimsList());
    }
    ByteBuffer bits = ByteBuffer.allocate(2).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < n; i++) {
      out[i] = switch (type) {
        case FLOAT -> t.getFloatData(i);
        case DOUBLE -> t.getDoubleData(i);
        case FLOAT16, BFLOAT16 -> type.get(bits.clear().putShort(0, (short) t.getInt32Data(i)));
      };
    }
    return out;
  }

  /**
   * A tensor of the given type and shape (raw_data, little-endian).
   *
   * @throws IllegalArgumentException if a value is not exactly a number of the type
   */
  static TensorProto of(String name, ElementType type, double[] values, List<Long> dims) {
    ByteBuffer buf = ByteBuffer.allocate(values.length * type.bytes())
        .order(ByteOrder.LITTLE_ENDIAN);
    for (double v : values) {
      if (type.nearest(v) != v && !Double.isNaN(v)) {
        throw new IllegalArgumentException(name + ": " + v + " is not a "
            + ElementType.name(type.onnxType()));
      }
      type.put(buf, v);
    }
    buf.flip();
    return TensorProto.newBuilder().setName(name).setDataType(type.onnxType()).addAllDims(dims)
        .setRawData(ByteString.copyFrom(buf)).build();
  }

  /** A 1-D int64 tensor. */
  static TensorProto int64(String name, long[] values) {
    TensorProto.Builder t = TensorProto.newBuilder().setName(name)
        .setDataType(TensorProto.DataType.INT64_VALUE).addDims(values.length);
    for (long v : values) {
      t.addInt64Data(v);
    }
    return t.build();
  }
}
