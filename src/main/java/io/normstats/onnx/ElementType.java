package io.normstats.onnx;

import io.normstats.onnx.proto.OnnxProto.TensorProto;

/**
 * The ONNX element types normstats feeds to networks and reads back: IEEE 754 binary32
 * ({@code tensor(float)}, what PyTorch exports by default) and binary64 ({@code tensor(double)}).
 */
public enum ElementType {
  /** {@code tensor(float)}, ONNX data type 1. */
  FLOAT(TensorProto.DataType.FLOAT_VALUE, 4),
  /** {@code tensor(double)}, ONNX data type 11. */
  DOUBLE(TensorProto.DataType.DOUBLE_VALUE, 8);

  private final int onnxType;
  private final int bytes;

  ElementType(int onnxType, int bytes) {
    this.onnxType = onnxType;
    this.bytes = bytes;
  }

  /** The {@code TensorProto.DataType} number. */
  public int onnxType() {
    return onnxType;
  }

  /** Bytes per element. */
  public int bytes() {
    return bytes;
  }

  /** The element type of ONNX data type {@code onnxType}, or null if normstats does not read it. */
  static ElementType of(int onnxType) {
    for (ElementType t : values()) {
      if (t.onnxType == onnxType) {
        return t;
      }
    }
    return null;
  }

  /** ONNX's name of data type {@code onnxType} ("float", "float16", "int64", ...). */
  static String name(int onnxType) {
    TensorProto.DataType t = TensorProto.DataType.forNumber(onnxType);
    return t == null ? "data type " + onnxType : t.name().toLowerCase(java.util.Locale.ROOT);
  }
}
