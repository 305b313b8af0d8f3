package io.normstats.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** Packed rows give every value back bit for bit, in the narrowest form that can. */
class PackedRowsTest {
  /** {@code values[0 .. length)} packed into an array of their packed size. */
  private static byte[] pack(double[] values, int length) {
    byte[] out = new byte[PackedRows.maxBytes(length)];
    int n = PackedRows.pack(values, 0, length, out, 0);
    return java.util.Arrays.copyOf(out, n);
  }

  @Test
  void pixelsTakeOneBytePerValue() {
    double[] row = {0, 1, 127, 128, 255, 42};
    byte[] packed = pack(row, row.length);
    assertEquals(1 + row.length, packed.length);
    assertEquals(PackedRows.UNSIGNED_BYTES, packed[0]);
    assertSameBits(row, packed);
  }

  @Test
  void floatsTakeFourBytesPerValue() {
    for (double[] row : new double[][] {
        {0, 1, 256, 42},                      // 256 is no byte
        {0.5, 1, 2},                          // 0.5 is no integer
        {-1, 3},                              // negative
        {-0.0, 7},                            // -0.0 is kept
        {Float.MIN_VALUE, Float.MAX_VALUE, Float.NaN, Double.POSITIVE_INFINITY},
    }) {
      byte[] packed = pack(row, row.length);
      assertEquals(PackedRows.FLOATS, packed[0]);
      assertEquals(1 + 4 * row.length, packed.length);
      assertSameBits(row, packed);
    }
  }

  @Test
  void otherDoublesTakeEightBytesPerValue() {
    for (double[] row : new double[][] {
        {0.1, 1, 2},
        {1e6 + 1e-3, 0},
        {Double.MIN_VALUE, -Double.MAX_VALUE},
        {1, Double.longBitsToDouble(0x7ff8000000000123L)}, // a NaN whose payload a float loses
    }) {
      byte[] packed = pack(row, row.length);
      assertEquals(PackedRows.DOUBLES, packed[0]);
      assertEquals(1 + 8 * row.length, packed.length);
      assertSameBits(row, packed);
    }
  }

  @Test
  void onlyTheGivenLengthIsPackedAndALengthMismatchIsRefused() {
    double[] row = {3, 4, 0.1};
    byte[] packed = pack(row, 2);
    assertEquals(PackedRows.UNSIGNED_BYTES, packed[0]);
    assertThrows(IllegalStateException.class, () -> PackedRows.unpack(packed, 3, new double[3], 0));
    assertThrows(IllegalStateException.class, () -> PackedRows.valueAt(packed, 3, 0));
    assertThrows(IndexOutOfBoundsException.class, () -> PackedRows.valueAt(packed, 2, 2));
    double[] out = {9, 9, 9, 9};
    PackedRows.unpack(packed, 2, out, 1);
    assertArrayEquals(new double[] {9, 3, 4, 9}, out);
  }

  private static void assertSameBits(double[] row, byte[] packed) {
    double[] out = new double[row.length + 2];
    PackedRows.unpack(packed, row.length, out, 2);
    for (int k = 0; k < row.length; k++) {
      assertEquals(Double.doubleToRawLongBits(row[k]), Double.doubleToRawLongBits(out[2 + k]),
          "value " + k + ": " + row[k] + " came back as " + out[2 + k]);
      double one = PackedRows.valueAt(packed, row.length, k);
      assertEquals(Double.doubleToRawLongBits(row[k]), Double.doubleToRawLongBits(one),
          "value " + k + " alone: " + row[k] + " came back as " + one);
    }
  }
}
