package io.normstats.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.apache.spark.unsafe.types.UTF8String;
import org.junit.jupiter.api.Test;

/** Kept rows come back in order, bit for bit, with their splits, across chunks and serializing. */
class KeptRowsTest {
  private record Row(String file, long start, double[] values) {}

  @Test
  void rowsComeBackInOrderWithTheirSplitsAcrossChunksAndSerialization() throws Exception {
    int length = 784;
    SplittableRandom r = new SplittableRandom(3);
    List<Row> rows = new ArrayList<>();
    KeptRows kept = new KeptRows(length);
    double[] buffer = new double[length + 5];
    // 1,500 rows of 8-bit, float and double values (785, 3,137 and 6,273 bytes: 5.1 MB, over a
    // chunk boundary), in runs of two files' splits, one split read twice apart
    String[][] splits = {{"a.parquet", "0"}, {"a.parquet", "4096"}, {"b.parquet", "0"},
        {"a.parquet", "0"}};
    for (int i = 0; i < 1500; i++) {
      String[] split = splits[Math.min(3, i / 400)];
      double[] values = new double[length];
      int form = i % 3;
      for (int k = 0; k < length; k++) {
        values[k] = switch (form) {
          case 0 -> r.nextInt(256);
          case 1 -> (float) r.nextGaussian();
          default -> r.nextGaussian() * 1e9;
        };
      }
      rows.add(new Row(split[0], Long.parseLong(split[1]), values));
      System.arraycopy(values, 0, buffer, 5, length); // rows read at an offset, as from a tile
      kept.add(UTF8String.fromString(split[0]), Long.parseLong(split[1]), buffer, 5);
    }
    assertTrue(kept.complete());
    assertEquals(rows.size(), kept.rows());
    check(rows, kept.trim(), length);
    check(rows, roundTrip(kept), length);
  }

  @Test
  void anIncompletePartitionKeepsNothingAndSaysSo() {
    KeptRows kept = new KeptRows(2);
    kept.add(UTF8String.fromString("f"), 0, new double[] {1, 2}, 0);
    kept.markIncomplete();
    kept.add(UTF8String.fromString("f"), 0, new double[] {3, 4}, 0);
    assertFalse(kept.complete());
    assertEquals(0, kept.rows());
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> kept.cursor().advance());
    assertEquals("the partition's rows were not kept: a row is incomplete", e.getMessage());
  }

  @Test
  void anEmptyPartitionHasNoRows() {
    assertFalse(new KeptRows(3).trim().cursor().advance());
  }

  private static void check(List<Row> rows, KeptRows kept, int length) {
    KeptRows.Cursor cursor = kept.cursor();
    double[] out = new double[length];
    for (int i = 0; i < rows.size(); i++) {
      assertTrue(cursor.advance(), "row " + i);
      Row expected = rows.get(i);
      assertEquals(expected.file(), cursor.file(), "row " + i);
      assertEquals(expected.start(), cursor.start(), "row " + i);
      PackedRows.unpack(cursor.packedRow(), length, out, 0);
      for (int k = 0; k < length; k++) {
        assertEquals(Double.doubleToRawLongBits(expected.values()[k]),
            Double.doubleToRawLongBits(out[k]), "row " + i + " value " + k);
      }
    }
    assertFalse(cursor.advance());
  }

  private static KeptRows roundTrip(KeptRows kept) throws IOException, ClassNotFoundException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
      out.writeObject(kept);
    }
    try (ObjectInputStream in = new ObjectInputStream(
        new ByteArrayInputStream(bytes.toByteArray()))) {
      return (KeptRows) in.readObject();
    }
  }
}
