package io.normstats.onnx;

import com.google.protobuf.ByteString;
import io.normstats.InputException;
import io.normstats.onnx.proto.OnnxProto.GraphProto;
import io.normstats.onnx.proto.OnnxProto.ModelProto;
import io.normstats.onnx.proto.OnnxProto.StringStringEntryProto;
import io.normstats.onnx.proto.OnnxProto.TensorProto;
import java.io.IOException;

/**
 * Tensor data kept outside the model file, as ONNX's external-data format stores it
 * ({@code onnx/docs/ExternalData.md}): a {@code TensorProto} with {@code data_location = EXTERNAL}
 * and the entries {@code location} (a path relative to the model file's directory), {@code offset}
 * and {@code length} (bytes; both optional). PyTorch's default exporter ({@code dynamo=True},
 * {@code external_data=True}) writes the weights so, to {@code MODEL.onnx.data}.
 *
 * <p>{@link #inline} reads every such tensor of the main graph into its {@code raw_data}, so the
 * model is one self-contained protobuf: what Spark broadcasts to the executors and what normstats
 * writes back. A protobuf holds at most 2 GB, so a model whose data is larger is refused.
 */
public final class ExternalData {
  /** The largest serialized model: protobuf's limit of 2 GiB, less room for the graph itself. */
  static final long MAX_INLINE_BYTES = Integer.MAX_VALUE - (64L << 20);

  /** Reads byte ranges of the files beside the model. */
  @FunctionalInterface
  public interface Files {
    /**
     * Reads {@code length} bytes from {@code offset} of the file at {@code location}, relative to
     * the model file's directory; {@code length < 0} reads to the end of the file.
     *
     * @throws InputException (usage) if the file does not exist; (data) if it ends before
     *     {@code offset + length}
     * @throws IOException if reading fails
     */
    byte[] read(String location, long offset, long length) throws IOException;
  }

  private ExternalData() {}

  /** Whether the model keeps some initializer's data outside the file. */
  static boolean isUsed(ModelProto model) {
    return model.getGraph().getInitializerList().stream()
        .anyMatch(t -> t.getDataLocation() == TensorProto.DataLocation.EXTERNAL);
  }

  /**
   * The model with every external initializer's data read into its {@code raw_data}.
   *
   * @param model the parsed model
   * @param what how to name the model in messages (its path)
   * @param files reads the data files, or null when there are none to read (the model came as
   *     bytes alone)
   * @throws InputException (usage) if the model uses external data and {@code files} is null, a
   *     location is absolute or leaves the model's directory, a data file is missing, or the data
   *     comes to more than 2 GB; (data) if a tensor's range does not hold its values
   */
  static ModelProto inline(ModelProto model, String what, Files files) {
    if (!isUsed(model)) {
      return model;
    }
    GraphProto.Builder g = model.getGraph().toBuilder();
    long total = model.getSerializedSize();
    for (int i = 0; i < g.getInitializerCount(); i++) {
      TensorProto t = g.getInitializer(i);
      if (t.getDataLocation() != TensorProto.DataLocation.EXTERNAL) {
        continue;
      }
      String location = null;
      long offset = 0;
      long length = -1;
      for (StringStringEntryProto e : t.getExternalDataList()) {
        switch (e.getKey()) {
          case "location" -> location = e.getValue();
          case "offset" -> offset = parseLong(e.getValue(), what, t, "offset");
          case "length" -> length = parseLong(e.getValue(), what, t, "length");
          default -> { }
        }
      }
      if (files == null) {
        throw InputException.usage(what + " keeps initializer '" + t.getName()
            + "' in an external data file, which cannot be read with the model's bytes alone; "
            + "give the model's path");
      }
      if (location == null || location.isEmpty()) {
        throw InputException.data(what + ": initializer '" + t.getName()
            + "' is external but names no location");
      }
      if (location.startsWith("/") || location.startsWith("\\") || location.contains(":")
          || java.util.Arrays.asList(location.split("[/\\\\]")).contains("..")) {
        throw InputException.usage(what + ": the external data of initializer '" + t.getName()
            + "' is at '" + location + "', outside the model's directory; ONNX locations are "
            + "relative paths beside the model");
      }
      long expected = expectedBytes(t);
      if (length >= 0 && expected >= 0 && length != expected) {
        throw InputException.data(what + ": initializer '" + t.getName() + "' of shape "
            + t.getDimsList() + " needs " + expected + " bytes; its external data in '"
            + location + "' has length " + length);
      }
      total += Math.max(length, expected);
      if (total > MAX_INLINE_BYTES) {
        throw InputException.usage(what + ": the model with its external data is over 2 GB, "
            + "more than one ONNX protobuf holds; normstats recalibrates models up to 2 GB");
      }
      byte[] data;
      try {
        data = files.read(location, offset, length >= 0 ? length : expected);
      } catch (IOException e) {
        throw InputException.data(what + ": cannot read the external data of initializer '"
            + t.getName() + "' from '" + location + "': " + e.getMessage(), e);
      }
      if (expected >= 0 && data.length != expected) {
        throw InputException.data(what + ": initializer '" + t.getName() + "' of shape "
            + t.getDimsList() + " needs " + expected + " bytes; '" + location + "' holds "
            + data.length + " from offset " + offset);
      }
      g.setInitializer(i, t.toBuilder().clearExternalData()
          .setDataLocation(TensorProto.DataLocation.DEFAULT).setRawData(ByteString.copyFrom(data))
          .build());
    }
    return model.toBuilder().setGraph(g).build();
  }

  private static long parseLong(String s, String what, TensorProto t, String key) {
    try {
      long v = Long.parseLong(s.strip());
      if (v < 0) {
        throw new NumberFormatException();
      }
      return v;
    } catch (NumberFormatException e) {
      throw InputException.data(what + ": initializer '" + t.getName() + "' has external data "
          + key + " '" + s + "', not a byte count");
    }
  }

  /** The bytes a tensor's values take as raw data, or -1 for types of no fixed size (string). */
  static long expectedBytes(TensorProto t) {
    int size = elementBytes(t.getDataType());
    if (size < 0) {
      return -1;
    }
    long n = 1;
    for (long d : t.getDimsList()) {
      n = Math.multiplyExact(n, d);
    }
    return Math.multiplyExact(n, size);
  }

  /** Bytes per element of an ONNX data type as raw data; -1 for string and unknown types. */
  public static int elementBytes(int dataType) {
    TensorProto.DataType t = TensorProto.DataType.forNumber(dataType);
    if (t == null) {
      return -1;
    }
    return switch (t) {
      case FLOAT, INT32, UINT32 -> 4;
      case DOUBLE, INT64, UINT64, COMPLEX64 -> 8;
      case COMPLEX128 -> 16;
      case FLOAT16, BFLOAT16, INT16, UINT16 -> 2;
      case INT8, UINT8, BOOL, FLOAT8E4M3FN, FLOAT8E4M3FNUZ, FLOAT8E5M2, FLOAT8E5M2FNUZ -> 1;
      default -> -1;
    };
  }
}
