package io.normstats.ml;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Iterator;
import org.apache.spark.ml.linalg.Vectors;
import org.junit.jupiter.api.Test;

/** BatchNorm state dicts in safetensors: the file layout against the format, and round trips. */
class BatchNormSafetensorsTest {
  private static final double[] MEAN = {0.1, -2.5, 1e6 + 1.0 / 3};
  private static final double[] VAR = {1.0 / 3, 0, 7.25};

  private static BatchNormModel model() {
    return new BatchNormModel(Vectors.dense(MEAN), Vectors.dense(VAR))
        .setWeight(Vectors.dense(1, 2, 3)).setBias(Vectors.dense(-1, 0, 0.5)).setEpsilon(1e-3);
  }

  private static byte[] bytes(BatchNormModel m, String dtype, String prefix) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    BatchNormSafetensors.write(m, out, dtype, prefix);
    return out.toByteArray();
  }

  @Test
  void theFileFollowsTheSafetensorsLayout() throws IOException {
    byte[] file = bytes(model(), "F32", "bn1.");
    ByteBuffer b = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
    long n = b.getLong();
    assertEquals(0, n % 8, "header padded to 8 bytes");
    String json = new String(file, 8, (int) n, StandardCharsets.UTF_8);
    assertTrue(json.startsWith("{") && json.stripTrailing().endsWith("}"), json);
    JsonNode header = new ObjectMapper().readTree(json);
    assertEquals("pt", header.get("__metadata__").get("format").asText());
    String[] names = {"bn1.running_mean", "bn1.running_var", "bn1.weight", "bn1.bias",
        "bn1.num_batches_tracked"};
    long expectedBegin = 0;
    for (String name : names) {
      JsonNode t = header.get(name);
      assertEquals(name.endsWith("tracked") ? "I64" : "F32", t.get("dtype").asText(), name);
      long begin = t.get("data_offsets").get(0).asLong();
      long end = t.get("data_offsets").get(1).asLong();
      assertEquals(expectedBegin, begin, name + " contiguous");
      expectedBegin = end;
    }
    assertEquals(file.length - 8 - n, expectedBegin, "the data fills the rest of the file");
    assertEquals("[3]", header.get("bn1.running_mean").get("shape").toString());
    assertEquals("[]", header.get("bn1.num_batches_tracked").get("shape").toString());
    // the data, decoded independently: little-endian float32, rounded to nearest
    int data = 8 + (int) n;
    for (int i = 0; i < 3; i++) {
      assertEquals((float) MEAN[i], b.getFloat(data + 4 * i));
      assertEquals((float) VAR[i], b.getFloat(data + 12 + 4 * i));
    }
    assertEquals(0L, b.getLong(data + 48));
    assertEquals(6, countFields(header));
  }

  private static int countFields(JsonNode header) {
    int n = 0;
    for (Iterator<String> it = header.fieldNames(); it.hasNext(); it.next()) {
      n++;
    }
    return n;
  }

  @Test
  void float64RoundTripsExactlyAndFloat32Rounds() throws IOException {
    BatchNormModel back = BatchNormSafetensors.read(
        new ByteArrayInputStream(bytes(model(), "F64", "")), "bn.safetensors", "");
    assertArrayEquals(MEAN, back.mean().toArray());
    assertArrayEquals(VAR, back.variance().toArray());
    assertArrayEquals(new double[] {1, 2, 3}, back.getOrDefault(back.weight()).toArray());
    assertArrayEquals(new double[] {-1, 0, 0.5}, back.getOrDefault(back.bias()).toArray());
    BatchNormModel f32 = BatchNormSafetensors.read(
        new ByteArrayInputStream(bytes(model(), "F32", "layer.")), "bn.safetensors", "layer.");
    for (int i = 0; i < 3; i++) {
      assertEquals((double) (float) MEAN[i], f32.mean().apply(i));
    }
    // a model without gamma and beta writes ones and zeros
    BatchNormModel plain = BatchNormSafetensors.read(new ByteArrayInputStream(bytes(
        new BatchNormModel(Vectors.dense(MEAN), Vectors.dense(VAR)), "F64", "")), "x", "");
    assertArrayEquals(new double[] {1, 1, 1}, plain.getOrDefault(plain.weight()).toArray());
    assertArrayEquals(new double[] {0, 0, 0}, plain.getOrDefault(plain.bias()).toArray());
  }

  @Test
  void badFilesAreRefusedNamingTheFile() throws IOException {
    byte[] good = bytes(model(), "F64", "");
    IOException truncated = assertThrows(IOException.class, () -> BatchNormSafetensors.read(
        new ByteArrayInputStream(Arrays.copyOf(good, good.length - 9)), "cut.safetensors", ""));
    assertTrue(truncated.getMessage().startsWith("cut.safetensors: tensor"), truncated.getMessage());
    IOException missing = assertThrows(IOException.class, () -> BatchNormSafetensors.read(
        new ByteArrayInputStream(good), "bn.safetensors", "bn1."));
    assertTrue(missing.getMessage().contains("bn.safetensors has no tensor 'bn1.running_mean'"),
        missing.getMessage());
    IOException notSafetensors = assertThrows(IOException.class, () -> BatchNormSafetensors.read(
        new ByteArrayInputStream("PAR1 not a safetensors file".getBytes(StandardCharsets.UTF_8)),
        "data.parquet", ""));
    assertTrue(notSafetensors.getMessage().startsWith("data.parquet is not a safetensors file"),
        notSafetensors.getMessage());
    assertThrows(IllegalArgumentException.class, () -> bytes(model(), "F16", ""));
    assertFalse(new String(good, StandardCharsets.ISO_8859_1).contains("NaN"));
  }
}
