package io.normstats.onnx;

import com.google.protobuf.ByteString;
import io.normstats.InputException;
import io.normstats.onnx.proto.OnnxProto.GraphProto;
import io.normstats.onnx.proto.OnnxProto.ModelProto;
import io.normstats.onnx.proto.OnnxProto.StringStringEntryProto;
import io.normstats.onnx.proto.OnnxProto.TensorProto;
import java.io.IOException;
import java.io.OutputStream;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Tensor data kept outside the model file, as ONNX's external-data format stores it
 * ({@code onnx/docs/ExternalData.md}): a {@code TensorProto} with {@code data_location = EXTERNAL}
 * and the entries {@code location} (a path relative to the model file's directory), {@code offset}
 * and {@code length} (bytes; both optional). PyTorch's default exporter ({@code dynamo=True},
 * {@code external_data=True}) writes the weights so, to {@code MODEL.onnx.data}.
 *
 * <p>{@link #inline} reads every such tensor of the main graph into its {@code raw_data}, so the
 * model is one self-contained protobuf: what Spark broadcasts to the executors and what normstats
 * writes back. A protobuf holds at most 2 GB, so in a model whose data is larger the tensors of
 * 1 MiB and more stay external, and the largest of the rest until the rest fits: their data is
 * read into
 * {@link Tensors}, which Spark broadcasts once per job beside the (small) graphs, ONNX Runtime
 * takes as its external initializers ({@code SessionOptions.addExternalInitializers}), and
 * normstats writes back beside the model ({@link #write}), as ONNX's
 * {@code save_model(save_as_external_data=True)} does.
 */
public final class ExternalData {
  /** The largest serialized model: protobuf's limit of 2 GiB, less room for the graph itself. */
  static final long MAX_INLINE_BYTES = Integer.MAX_VALUE - (64L << 20);

  /** In a model over 2 GB, the tensors of this many bytes or more stay external. */
  static final long LARGE_TENSOR_BYTES = 1L << 20;

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

  /** A model as {@link #inline} reads it: its protobuf and the data it keeps external. */
  record Loaded(ModelProto proto, Tensors external) {}

  /**
   * The largest serialized model {@link #inline} builds: {@link #MAX_INLINE_BYTES}, or the
   * system property {@code normstats.onnx.inlineLimit} (bytes), which tests set low to run the
   * path of models over 2 GB on small ones.
   */
  static long inlineLimit() {
    return Long.getLong("normstats.onnx.inlineLimit", MAX_INLINE_BYTES);
  }

  /**
   * The model with every external initializer's data read into its {@code raw_data}; or, where
   * the model with its data would be over 2 GB ({@link #inlineLimit}), with its external tensors
   * of {@value #LARGE_TENSOR_BYTES} bytes and more left external, and the largest of the rest until
   * the rest fits (so that the graphs Spark ships each pass stay small), their data read into the
   * returned {@link Tensors}. A BatchNormalization's parameters (and an initializer that reaches one
   * through Identity nodes) are always read in: normstats reads and rewrites them.
   *
   * @param model the parsed model
   * @param what how to name the model in messages (its path)
   * @param files reads the data files, or null when there are none to read (the model came as
   *     bytes alone)
   * @throws InputException (usage) if the model uses external data and {@code files} is null, a
   *     location is absolute or leaves the model's directory, a data file is missing, one tensor
   *     is over 2 GB, or the graph with its small tensors is; (data) if a tensor's range does not
   *     hold its values
   */
  static Loaded inline(ModelProto model, String what, Files files) {
    if (!isUsed(model)) {
      return new Loaded(model, Tensors.NONE);
    }
    GraphProto.Builder g = model.getGraph().toBuilder();
    // first the ranges, checked, and the total they come to
    long total = model.getSerializedSize();
    Range[] ranges = new Range[g.getInitializerCount()];
    for (int i = 0; i < g.getInitializerCount(); i++) {
      TensorProto t = g.getInitializer(i);
      if (t.getDataLocation() == TensorProto.DataLocation.EXTERNAL) {
        ranges[i] = range(t, what, files);
        total += ranges[i].bytes();
      }
    }
    // over the limit: the tensors of 1 MiB and more stay external (the graphs of the passes stay
    // small), then the largest of the rest until the rest fits
    boolean[] keep = new boolean[ranges.length];
    if (total > inlineLimit()) {
      Set<String> read = batchNormParameters(model.getGraph());
      for (int i = 0; i < ranges.length; i++) {
        if (ranges[i] != null && ranges[i].bytes() >= LARGE_TENSOR_BYTES
            && !read.contains(g.getInitializer(i).getName())) {
          keep[i] = true;
          total -= ranges[i].bytes();
        }
      }
      Integer[] bySize = new Integer[ranges.length];
      for (int i = 0; i < ranges.length; i++) {
        bySize[i] = i;
      }
      java.util.Arrays.sort(bySize, java.util.Comparator.comparingLong(
          (Integer i) -> ranges[i] == null ? 0 : ranges[i].bytes()).reversed());
      for (int i : bySize) {
        if (total <= inlineLimit() || ranges[i] == null) {
          break;
        }
        if (!keep[i] && !read.contains(g.getInitializer(i).getName())) {
          keep[i] = true;
          total -= ranges[i].bytes();
        }
      }
      if (total > inlineLimit()) {
        throw InputException.usage(what + ": the model's graph with its BatchNorm parameters is "
            + "over 2 GB, more than one ONNX protobuf holds");
      }
    }
    Map<String, byte[]> kept = new LinkedHashMap<>();
    for (int i = 0; i < ranges.length; i++) {
      Range r = ranges[i];
      if (r == null) {
        continue;
      }
      TensorProto t = g.getInitializer(i);
      if (keep[i] && r.bytes() > Integer.MAX_VALUE - 8) {
        throw InputException.usage(what + ": initializer '" + t.getName() + "' holds "
            + r.bytes() + " bytes; normstats reads tensors of up to 2 GB");
      }
      byte[] data = r.read(t, what, files);
      if (keep[i]) {
        kept.put(t.getName(), data);
      } else {
        g.setInitializer(i, t.toBuilder().clearExternalData()
            .setDataLocation(TensorProto.DataLocation.DEFAULT)
            .setRawData(ByteString.copyFrom(data)).build());
      }
    }
    return new Loaded(model.toBuilder().setGraph(g).build(), new Tensors(kept));
  }

  /**
   * The names of the BatchNormalizations' parameter inputs (scale, B, input_mean, input_var) and
   * of what reaches them through Identity nodes.
   */
  private static Set<String> batchNormParameters(GraphProto graph) {
    Set<String> out = new HashSet<>();
    for (var n : graph.getNodeList()) {
      if (n.getOpType().equals("BatchNormalization") && n.getDomain().isEmpty()) {
        for (int k = 1; k < n.getInputCount(); k++) {
          out.add(n.getInput(k));
        }
      }
    }
    boolean grew = true;
    while (grew) {
      grew = false;
      for (var n : graph.getNodeList()) {
        if (n.getOpType().equals("Identity") && out.contains(n.getOutput(0))
            && out.add(n.getInput(0))) {
          grew = true;
        }
      }
    }
    return out;
  }

  /** Where an external tensor's data is: a file beside the model, an offset and a length. */
  private record Range(String location, long offset, long length, long expected) {
    long bytes() {
      return Math.max(length, expected);
    }

    byte[] read(TensorProto t, String what, Files files) {
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
      return data;
    }
  }

  private static Range range(TensorProto t, String what, Files files) {
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
    return new Range(location, offset, length, expected);
  }

  /**
   * The data of the initializers a model over 2 GB keeps external ({@link #inline}), by name:
   * what Spark broadcasts once per job beside the graphs, and what ONNX Runtime takes as the
   * sessions' external initializers. The data is serialized with it; the ONNX Runtime tensors over
   * it are made once per JVM that runs sessions, in direct buffers of the platform's (little
   * endian) byte order, as ONNX stores raw data.
   */
  public static final class Tensors implements java.io.Serializable {
    private static final long serialVersionUID = 1L;

    /** No external data: a model under 2 GB. */
    public static final Tensors NONE = new Tensors(new LinkedHashMap<>());

    private final LinkedHashMap<String, byte[]> data;
    private transient Map<String, ai.onnxruntime.OnnxTensor> onnx;

    Tensors(Map<String, byte[]> data) {
      this.data = new LinkedHashMap<>(data);
    }

    /** Whether there is none. */
    public boolean isEmpty() {
      return data.isEmpty();
    }

    /** Their bytes in all. */
    public long bytes() {
      return data.values().stream().mapToLong(b -> b.length).sum();
    }

    /** Whether {@code name} is one of them. */
    boolean contains(String name) {
      return data.containsKey(name);
    }

    /** The data of {@code name}. */
    byte[] get(String name) {
      return data.get(name);
    }

    /**
     * The ONNX Runtime tensors of the external initializers of {@code graph} (for
     * {@code SessionOptions.addExternalInitializers}), made on first use in this JVM and shared
     * by the sessions that follow (ONNX Runtime reads them, and they live as long as this).
     *
     * @throws InputException (usage) for an element type ONNX Runtime's Java API has no tensors of
     */
    synchronized Map<String, ai.onnxruntime.OnnxTensorLike> initializers(
        ai.onnxruntime.OrtEnvironment env, GraphProto graph) throws ai.onnxruntime.OrtException {
      if (onnx == null) {
        onnx = new java.util.HashMap<>();
      }
      Map<String, ai.onnxruntime.OnnxTensorLike> out = new java.util.HashMap<>();
      for (TensorProto t : graph.getInitializerList()) {
        if (t.getDataLocation() != TensorProto.DataLocation.EXTERNAL
            || !data.containsKey(t.getName())) {
          continue;
        }
        ai.onnxruntime.OnnxTensor tensor = onnx.get(t.getName());
        if (tensor == null) {
          byte[] bytes = data.get(t.getName());
          java.nio.ByteBuffer b = java.nio.ByteBuffer.allocateDirect(bytes.length)
              .order(java.nio.ByteOrder.LITTLE_ENDIAN);
          b.put(bytes).flip();
          long[] shape = t.getDimsList().stream().mapToLong(Long::longValue).toArray();
          tensor = ai.onnxruntime.OnnxTensor.createTensor(env, b, shape, javaType(t));
          onnx.put(t.getName(), tensor);
        }
        out.put(t.getName(), tensor);
      }
      return out;
    }

    private static ai.onnxruntime.OnnxJavaType javaType(TensorProto t) {
      try {
        return SegmentSession.javaType(t.getDataType());
      } catch (IllegalArgumentException e) {
        throw InputException.usage("initializer '" + t.getName() + "' of a model over 2 GB: "
            + e.getMessage() + ", so normstats cannot keep it external");
      }
    }
  }

  /** External data offsets are multiples of this (a page), as ONNX aligns large tensors. */
  private static final int ALIGNMENT = 4096;

  /**
   * Writes {@code proto} to {@code model}, with the data of each initializer it keeps external
   * ({@code external}) written to {@code data}, the file {@code location} beside the model: at
   * offsets that are multiples of 4096, with the entries {@code location}, {@code offset} and
   * {@code length} of ONNX's external data format, which ONNX Runtime and {@code onnx.load}
   * read.
   *
   * @throws IOException if writing fails
   */
  static void write(ModelProto proto, Tensors external, String location, OutputStream model,
      OutputStream data) throws IOException {
    GraphProto.Builder g = proto.getGraph().toBuilder();
    long offset = 0;
    for (int i = 0; i < g.getInitializerCount(); i++) {
      TensorProto t = g.getInitializer(i);
      if (t.getDataLocation() != TensorProto.DataLocation.EXTERNAL
          || !external.contains(t.getName())) {
        continue;
      }
      long padding = (ALIGNMENT - offset % ALIGNMENT) % ALIGNMENT;
      data.write(new byte[(int) padding]);
      offset += padding;
      byte[] bytes = external.get(t.getName());
      data.write(bytes);
      g.setInitializer(i, t.toBuilder().clearExternalData()
          .addExternalData(entry("location", location))
          .addExternalData(entry("offset", Long.toString(offset)))
          .addExternalData(entry("length", Integer.toString(bytes.length))).build());
      offset += bytes.length;
    }
    proto.toBuilder().setGraph(g).build().writeTo(model);
  }

  private static StringStringEntryProto entry(String key, String value) {
    return StringStringEntryProto.newBuilder().setKey(key).setValue(value).build();
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
