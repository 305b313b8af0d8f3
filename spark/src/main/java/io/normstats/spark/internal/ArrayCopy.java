package io.normstats.spark.internal;

import org.apache.spark.sql.catalyst.expressions.UnsafeArrayData;
import org.apache.spark.sql.catalyst.util.ArrayData;
import org.apache.spark.unsafe.Platform;

/** Copies of Spark's array data into Java arrays, one memory copy where the layout allows it. */
public final class ArrayCopy {
  private ArrayCopy() {}

  /**
   * Copies the first {@code length} doubles of {@code values} (an array of doubles without nulls)
   * to {@code out[offset .. offset + length - 1]}: one memory copy for Spark's
   * {@link UnsafeArrayData} (its values follow a header of null bits), else value by value.
   *
   * @throws IndexOutOfBoundsException if {@code out} is too short (checked only value by value:
   *     callers size {@code out} themselves)
   */
  public static void doubles(ArrayData values, int length, double[] out, int offset) {
    if (values instanceof UnsafeArrayData unsafe) {
      long header = UnsafeArrayData.calculateHeaderPortionInBytes(length);
      Platform.copyMemory(unsafe.getBaseObject(), unsafe.getBaseOffset() + header, out,
          Platform.DOUBLE_ARRAY_OFFSET + 8L * offset, 8L * length);
    } else {
      for (int k = 0; k < length; k++) {
        out[offset + k] = values.getDouble(k);
      }
    }
  }
}
