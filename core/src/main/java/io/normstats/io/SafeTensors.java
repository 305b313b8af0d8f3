package io.normstats.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.normstats.exact.FloatFormat;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Reads and writes the safetensors format (Hugging Face, https://github.com/huggingface/safetensors):
 * an unsigned 64-bit little-endian header length N, N bytes of UTF-8 JSON mapping each tensor name
 * to {@code {"dtype", "shape", "data_offsets": [begin, end]}} (plus an optional
 * {@code "__metadata__"} object of strings), then the tensors' bytes, little-endian, row-major,
 * contiguous in header order. Written headers are padded with spaces to a multiple of 8 bytes, as
 * the reference implementation does.
 *
 * <p>Supported dtypes: F64, F32, F16 (IEEE binary16), BF16 and I64 (values held as doubles; I64
 * values must fit in 2^53).
 */
public final class SafeTensors {
  /** The largest header this reader accepts (the reference implementation's limit). */
  static final long MAX_HEADER = 100_000_000;

  private SafeTensors() {}

  /**
   * One tensor.
   *
   * @param dtype "F64", "F32", "F16", "BF16" or "I64"
   * @param shape the dimensions ({@code []} for a scalar)
   * @param values the elements in row-major order, as many as the shape's product
   */
  public record Tensor(String dtype, long[] shape, double[] values) {
    /** @throws IllegalArgumentException if the dtype is unsupported or the shape does not fit */
    public Tensor {
      width(dtype);
      long n = 1;
      for (long d : shape) {
        n = Math.multiplyExact(n, d);
      }
      if (n != values.length) {
        throw new IllegalArgumentException("shape holds " + n + " values, given " + values.length);
      }
    }
  }

  static int width(String dtype) {
    return switch (dtype) {
      case "F64", "I64" -> 8;
      case "F32" -> 4;
      case "F16", "BF16" -> 2;
      default -> throw new IllegalArgumentException("unsupported safetensors dtype " + dtype
          + " (F64, F32, F16, BF16 and I64 are supported)");
    };
  }

  /** Writes {@code tensors} (in map order) and {@code metadata} to {@code out}. */
  public static void write(OutputStream out, Map<String, Tensor> tensors,
      Map<String, String> metadata) throws IOException {
    ObjectMapper mapper = new ObjectMapper();
    ObjectNode header = mapper.createObjectNode();
    if (!metadata.isEmpty()) {
      ObjectNode meta = header.putObject("__metadata__");
      metadata.forEach(meta::put);
    }
    long offset = 0;
    for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
      Tensor t = e.getValue();
      ObjectNode node = header.putObject(e.getKey());
      node.put("dtype", t.dtype());
      ArrayNode shape = node.putArray("shape");
      for (long d : t.shape()) {
        shape.add(d);
      }
      long end = offset + (long) t.values().length * width(t.dtype());
      node.putArray("data_offsets").add(offset).add(end);
      offset = end;
    }
    byte[] json = mapper.writeValueAsBytes(header);
    int padded = (json.length + 7) / 8 * 8;
    ByteBuffer buffer = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
    buffer.putLong(padded).put(json);
    while (buffer.hasRemaining()) {
      buffer.put((byte) ' ');
    }
    out.write(buffer.array());
    for (Tensor t : tensors.values()) {
      ByteBuffer data = ByteBuffer.allocate(t.values().length * width(t.dtype()))
          .order(ByteOrder.LITTLE_ENDIAN);
      for (double v : t.values()) {
        switch (t.dtype()) {
          case "F64" -> data.putDouble(v);
          case "F32" -> data.putFloat((float) v);
          case "F16" -> data.putShort(FloatFormat.binary16Bits(FloatFormat.BINARY16.nearest(v)));
          case "BF16" -> data.putShort(FloatFormat.bfloat16Bits(FloatFormat.BFLOAT16.nearest(v)));
          default -> data.putLong((long) v);
        }
      }
      out.write(data.array());
    }
    out.flush();
  }

  /**
   * Reads every tensor of {@code in}, by name in header order.
   *
   * @param what the file's name, for messages
   * @throws IOException naming {@code what} if the file is truncated, its header is not valid
   *     JSON, offsets are out of range or overlap, or a dtype is unsupported
   */
  public static Map<String, Tensor> read(InputStream in, String what) throws IOException {
    DataInputStream data = new DataInputStream(in);
    byte[] lengthBytes = new byte[8];
    try {
      data.readFully(lengthBytes);
      long n = ByteBuffer.wrap(lengthBytes).order(ByteOrder.LITTLE_ENDIAN).getLong();
      if (n <= 0 || n > MAX_HEADER) {
        throw new IOException(what + " is not a safetensors file (header length " + n + ")");
      }
      byte[] json = new byte[(int) n];
      data.readFully(json);
      JsonNode header;
      try {
        header = new ObjectMapper().readTree(new String(json, StandardCharsets.UTF_8));
      } catch (IOException e) {
        throw new IOException(what + " is not a safetensors file (its header is not JSON)", e);
      }
      ByteArrayOutputStream rest = new ByteArrayOutputStream();
      data.transferTo(rest);
      ByteBuffer body = ByteBuffer.wrap(rest.toByteArray()).order(ByteOrder.LITTLE_ENDIAN);
      Map<String, Tensor> tensors = new LinkedHashMap<>();
      for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        if (e.getKey().equals("__metadata__")) {
          continue;
        }
        tensors.put(e.getKey(), tensor(e.getKey(), e.getValue(), body, what));
      }
      return tensors;
    } catch (EOFException e) {
      throw new IOException(what + " is truncated", e);
    }
  }

  private static Tensor tensor(String name, JsonNode node, ByteBuffer body, String what)
      throws IOException {
    String dtype = node.path("dtype").asText();
    int width;
    try {
      width = width(dtype);
    } catch (IllegalArgumentException e) {
      throw new IOException(what + ": tensor '" + name + "': " + e.getMessage());
    }
    JsonNode shapeNode = node.path("shape");
    long[] shape = new long[shapeNode.size()];
    long count = 1;
    for (int i = 0; i < shape.length; i++) {
      shape[i] = shapeNode.get(i).asLong();
      count *= shape[i];
    }
    long begin = node.path("data_offsets").path(0).asLong(-1);
    long end = node.path("data_offsets").path(1).asLong(-1);
    if (begin < 0 || end > body.capacity() || end - begin != count * width) {
      throw new IOException(what + ": tensor '" + name + "' has data offsets [" + begin + ", "
          + end + ") that do not fit its shape or the file (" + body.capacity() + " data bytes)");
    }
    double[] values = new double[(int) count];
    for (int i = 0; i < count; i++) {
      int at = (int) (begin + (long) i * width);
      values[i] = switch (dtype) {
        case "F64" -> body.getDouble(at);
        case "F32" -> body.getFloat(at);
        case "F16" -> FloatFormat.binary16Value(body.getShort(at));
        case "BF16" -> FloatFormat.bfloat16Value(body.getShort(at));
        default -> body.getLong(at);
      };
    }
    return new Tensor(dtype, shape, values);
  }
}
