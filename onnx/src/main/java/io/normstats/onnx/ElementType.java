package io.normstats.onnx;

import io.normstats.exact.FloatFormat;
import io.normstats.onnx.proto.OnnxProto.TensorProto;
import java.nio.ByteBuffer;

/**
 * The ONNX element types normstats feeds to networks, reads back and writes statistics in: IEEE
 * 754 binary32 ({@code tensor(float)}, what PyTorch exports by default), binary64
 * ({@code tensor(double)}), binary16 ({@code tensor(float16)}, {@code model.half()}) and bfloat16
 * ({@code tensor(bfloat16)}). Every value of these types is a double; values are handed around as
 * doubles that hold them exactly, and encoded in little-endian order as ONNX's {@code raw_data}
 * and ONNX Runtime's native buffers (on the little-endian machines it runs on) store them.
 */
public enum ElementType {
  /** {@code tensor(float)}, ONNX data type 1. */
  FLOAT(TensorProto.DataType.FLOAT_VALUE, 4, FloatFormat.BINARY32, "F32"),
  /** {@code tensor(double)}, ONNX data type 11. */
  DOUBLE(TensorProto.DataType.DOUBLE_VALUE, 8, FloatFormat.BINARY64, "F64"),
  /** {@code tensor(float16)}, ONNX data type 10: IEEE 754 binary16. */
  FLOAT16(TensorProto.DataType.FLOAT16_VALUE, 2, FloatFormat.BINARY16, "F16"),
  /** {@code tensor(bfloat16)}, ONNX data type 16: the upper half of a binary32. */
  BFLOAT16(TensorProto.DataType.BFLOAT16_VALUE, 2, FloatFormat.BFLOAT16, "BF16");

  private final int onnxType;
  private final int bytes;
  private final FloatFormat format;
  private final String safetensorsDtype;

  ElementType(int onnxType, int bytes, FloatFormat format, String safetensorsDtype) {
    this.onnxType = onnxType;
    this.bytes = bytes;
    this.format = format;
    this.safetensorsDtype = safetensorsDtype;
  }

  /** The {@code TensorProto.DataType} number. */
  public int onnxType() {
    return onnxType;
  }

  /** Bytes per element. */
  public int bytes() {
    return bytes;
  }

  /** The binary format statistics stored in this type are rounded to. */
  public FloatFormat format() {
    return format;
  }

  /** The safetensors dtype of this type: F32, F64, F16, BF16. */
  public String safetensorsDtype() {
    return safetensorsDtype;
  }

  /** The value of this type nearest to {@code v} (ties to even), as a double. */
  public double nearest(double v) {
    return format.nearest(v);
  }

  /**
   * Writes the value of this type nearest to {@code v} at the buffer's position (in the
   * buffer's byte order), advancing it.
   */
  public void put(ByteBuffer b, double v) {
    switch (this) {
      case FLOAT -> b.putFloat((float) v);
      case DOUBLE -> b.putDouble(v);
      case FLOAT16 -> b.putShort(FloatFormat.binary16Bits(format.nearest(v)));
      case BFLOAT16 -> b.putShort(FloatFormat.bfloat16Bits(format.nearest(v)));
    }
  }

  /** Reads one value at the buffer's position (in its byte order), advancing it; exact. */
  public double get(ByteBuffer b) {
    return switch (this) {
      case FLOAT -> b.getFloat();
      case DOUBLE -> b.getDouble();
      case FLOAT16 -> FloatFormat.binary16Value(b.getShort());
      case BFLOAT16 -> FloatFormat.bfloat16Value(b.getShort());
    };
  }

  /** The element type of ONNX data type {@code onnxType}, or null if normstats does not read it. */
  public static ElementType of(int onnxType) {
    for (ElementType t : values()) {
      if (t.onnxType == onnxType) {
        return t;
      }
    }
    return null;
  }

  /** ONNX's name of data type {@code onnxType} ("float", "float16", "int64", ...). */
  public static String name(int onnxType) {
    TensorProto.DataType t = TensorProto.DataType.forNumber(onnxType);
    return t == null ? "data type " + onnxType : t.name().toLowerCase(java.util.Locale.ROOT);
  }
}
