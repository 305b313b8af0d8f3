package io.normstats.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.normstats.testing.IdxFiles;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IdxReaderTest {
  @TempDir Path tmp;

  @Test
  void readsPlainAndGzipImagesAndSkips() throws IOException {
    int[][] images = {{0, 1, 2, 255, 128, 7}, {9, 8, 7, 6, 5, 4}, {255, 255, 0, 0, 1, 1}};
    for (boolean gzip : new boolean[] {false, true}) {
      Path f = tmp.resolve("x-idx3-ubyte" + (gzip ? ".gz" : ""));
      IdxFiles.writeImages(f, 2, 3, images, gzip);
      try (IdxReader r = IdxReader.open(Files.newInputStream(f), f.toString())) {
        assertEquals(3, r.items());
        assertEquals(6, r.itemLength());
        assertArrayEquals(new int[] {3, 2, 3}, r.dimensions());
        r.skipItems(1);
        double[] v = new double[6];
        r.readItem(v);
        assertArrayEquals(new double[] {9, 8, 7, 6, 5, 4}, v);
        r.readItem(v);
        assertArrayEquals(new double[] {255, 255, 0, 0, 1, 1}, v);
        IOException e = assertThrows(IOException.class, () -> r.readItem(new double[6]));
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
      }
    }
  }

  @Test
  void readsOtherValueTypesBigEndian() throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    DataOutputStream out = new DataOutputStream(bytes);
    out.writeInt(0x00000E02); // float64, 2 dims
    out.writeInt(2);
    out.writeInt(2);
    out.writeDouble(-1.5);
    out.writeDouble(1e300);
    out.writeDouble(Double.MIN_VALUE);
    out.writeDouble(0.1);
    try (IdxReader r = IdxReader.open(new ByteArrayInputStream(bytes.toByteArray()), "f64")) {
      double[] v = new double[2];
      r.readItem(v);
      assertArrayEquals(new double[] {-1.5, 1e300}, v);
      r.readItem(v);
      assertArrayEquals(new double[] {Double.MIN_VALUE, 0.1}, v);
    }
    bytes.reset();
    out.writeInt(0x00000901); // signed bytes, labels-like
    out.writeInt(2);
    out.writeByte(-3);
    out.writeByte(100);
    try (IdxReader r = IdxReader.open(new ByteArrayInputStream(bytes.toByteArray()), "i8")) {
      double[] v = new double[1];
      r.readItem(v);
      assertEquals(-3.0, v[0]);
      r.readItem(v);
      assertEquals(100.0, v[0]);
    }
  }

  @Test
  void rejectsFilesThatAreNotIdx() {
    IOException e = assertThrows(IOException.class,
        () -> IdxReader.open(new ByteArrayInputStream("a,b\n1,2\n".getBytes()), "data.csv"));
    assertTrue(e.getMessage().startsWith("data.csv: not an IDX file"), e.getMessage());
    assertThrows(IOException.class,
        () -> IdxReader.open(new ByteArrayInputStream(new byte[] {0, 0, 0x42, 1, 0, 0, 0, 1}), "t"));
    assertThrows(IOException.class, () -> IdxReader.open(new ByteArrayInputStream(new byte[2]), "s"));
  }
}
